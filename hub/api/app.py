"""The customer API: a read-only view of PostgreSQL for relationship managers and their page.

Every route that reads a customer is recorded in the audit (:mod:`hub.api.audit`).

Usage::

    app = create_api(settings, CustomerReads(store), AuditStore(store))   # hub.api.server runs it
"""

from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from hub.api import metrics
from hub.api.audit import Audit, ReadNote, audited, read_note
from hub.api.audit_routes import audit_router
from hub.api.auth import AuthenticatedRoute, requires
from hub.api.errors import ERRORS, SECURITY_HEADERS, internal_error, register_error_handlers
from hub.api.groups import groups_router
from hub.api.models import (
    CustomerView,
    DecisionItem,
    DecisionPage,
    ErrorBody,
    Health,
    HistoryPage,
    OpenComplaint,
    Readiness,
    SearchRequest,
    SearchResult,
)
from hub.api.paging import Cursor, Limit, Timestamp, decode_cursor, encode_cursor
from hub.api.reads import Reads
from hub.api.timeline import timeline_item
from hub.core.money import Rates
from hub.core.tiers import tier_of
from hub.settings import Settings
from hub.storage import customer_reads as stored
from schemas.interaction import CHANNELS, Channel

STATIC = Path(__file__).parent / "static"


Note = Annotated[ReadNote, Depends(read_note)]


def create_api(settings: Settings, reads: Reads, audit: Audit) -> FastAPI:
    app = FastAPI(
        title="Customer interaction hub API",
        version=version("interaction-hub"),
        description="Read-only: customer profiles, cross-channel history and the decision log.",
        docs_url=None,  # the interactive docs load scripts from a CDN; /openapi.json is served
        redoc_url=None,
    )
    # Every route declared below checks its token before FastAPI reads a body.
    app.router.route_class = AuthenticatedRoute
    app.state.tokens = settings.api.tokens
    app.state.audit_log = audit
    register_error_handlers(app)
    rates = Rates(settings.fx_rates, settings.home_currency)

    app.middleware("http")(security_headers)
    app.add_middleware(metrics.RequestMetrics)

    async def known(customer_id: str, note: ReadNote) -> stored.CustomerIds:
        ids = await reads.customer_ids(customer_id)
        if ids is None:
            raise HTTPException(404, "no customer with that id")
        note.served_id = ids.customer_id
        return ids

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> Health:
        return Health()

    @app.get("/readyz", tags=["operations"], response_model=Readiness, responses={503: {"model": Readiness}})
    async def readyz() -> JSONResponse:
        ready = await reads.is_ready()
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503)

    @app.post(
        "/customers/search",
        tags=["customers"],
        responses={**ERRORS, 400: {"model": ErrorBody, "description": "The body is not JSON"}},
        dependencies=[Depends(requires("customers:read")), Depends(audited("search"))],
    )
    async def search(query: SearchRequest, note: Note) -> SearchResult:
        """Find a customer by id or by a channel identifier. POST, so that no number is in a URL."""
        if query.customer_id is not None:
            note.customer_id = query.customer_id
            return SearchResult(customer_id=(await known(query.customer_id, note)).customer_id)
        assert query.kind is not None and query.value is not None  # SearchRequest's validator
        keyring = settings.require_pii_keyring()
        note.searched(keyring, query.kind, query.value)
        holder = await reads.customer_by_lookup_keys(keyring.lookup_keys(query.kind, query.value))
        if holder is None:
            raise HTTPException(404, "no customer holds that identifier")
        who = await reads.customer_ids(holder)
        # An identifier can be claimed before any profile or event of its holder arrived.
        note.served_id = who.customer_id if who else holder
        return SearchResult(customer_id=note.served_id)

    @app.api_route(
        "/customers/search",
        methods=["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"],
        include_in_schema=False,
    )
    async def search_by_post_only() -> None:
        # Declared before /customers/{customer_id}, which would take "search" for an id.
        raise HTTPException(405, "search with POST", headers={"Allow": "POST"})

    @app.get(
        "/customers/{customer_id}",
        tags=["customers"],
        responses=ERRORS,
        dependencies=[Depends(requires("customers:read")), Depends(audited("profile"))],
    )
    async def customer(customer_id: str, note: Note) -> CustomerView:
        """The customer 360: profile, tier, open complaints and interactions per channel."""
        who = await known(customer_id, note)
        found = await reads.profile(who.customer_id)
        counts = await reads.channel_counts(who.ids)
        complaints = await reads.open_complaints(who.ids)
        profile = found.profile if found else None
        return CustomerView(
            customer_id=who.customer_id,
            requested_id=who.requested_id,
            merged_ids=who.merged_ids,
            segment=profile.segment if profile else None,
            tier=tier_of(profile, settings.tiers, rates=rates),
            assets_under_management=profile.assets_under_management if profile else None,
            products=list(profile.products) if profile else None,
            rm_id=profile.rm_id if profile else None,
            consents=profile.consents if profile else None,
            identifiers=profile.identifiers if profile else None,
            birth_date=profile.birth_date if profile else None,
            time_zone=profile.time_zone if profile else None,
            updated_at=found.updated_at if found else None,
            customer_type=profile.customer_type if profile else "individual",
            group_id=profile.group_id if profile else None,
            rm_team=profile.corporate.rm_team if profile and profile.corporate else None,
            open_complaints=[OpenComplaint(**asdict(c)) for c in complaints],
            interaction_counts={channel: counts.get(channel, 0) for channel in CHANNELS},
        )

    @app.get(
        "/customers/{customer_id}/history",
        tags=["customers"],
        responses=ERRORS,
        dependencies=[Depends(requires("customers:read")), Depends(audited("history"))],
    )
    async def history(
        customer_id: str,
        note: Note,
        channel: Annotated[list[Channel], Query(description="Repeat to ask for several.")] = [],  # noqa: B006
        since: Annotated[Timestamp | None, Query(description="RFC 3339, inclusive.")] = None,
        until: Annotated[Timestamp | None, Query(description="RFC 3339, exclusive.")] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> HistoryPage:
        """Interactions across channels and merged ids, newest first (event time)."""
        after = decode_cursor(cursor)
        who = await known(customer_id, note)
        rows = await reads.history(
            who.ids, channels=list(channel), since=since, until=until, after=after, limit=limit + 1
        )
        page = rows[:limit]
        last = page[-1] if len(rows) > limit else None
        return HistoryPage(
            items=[timeline_item(row) for row in page],
            next_cursor=encode_cursor(last.occurred_at, last.event_id) if last else None,
        )

    @app.get(
        "/customers/{customer_id}/decisions",
        tags=["decisions"],
        responses=ERRORS,
        dependencies=[Depends(requires("decisions:read")), Depends(audited("decisions"))],
    )
    async def decisions(
        customer_id: str, note: Note, limit: Limit = 50, cursor: Cursor = None
    ) -> DecisionPage:
        """Every decision about the customer, newest first: published, suppressed or held out."""
        after = decode_cursor(cursor)
        who = await known(customer_id, note)
        rows = await reads.decisions(who.ids, after=after, limit=limit + 1)
        page = rows[:limit]
        last = page[-1] if len(rows) > limit else None
        return DecisionPage(
            items=[DecisionItem(**asdict(row)) for row in page],
            next_cursor=encode_cursor(last.decided_at, last.decision_id) if last else None,
        )

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.include_router(groups_router(settings, reads, rates))
    app.include_router(audit_router(audit))
    app.include_router(metrics.metrics_router())
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


async def security_headers(request: Request, call_next: Any) -> Response:
    """The headers on every answer; an exception no handler took answers 500 in the error shape."""
    try:
        response: Response = await call_next(request)
    except Exception as exc:  # the last resort, logged by internal_error
        return internal_error(request, exc)
    response.headers.update(SECURITY_HEADERS)
    return response
