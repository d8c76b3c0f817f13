"""``GET /audit/reads``: the audit of customer reads, for holders of the ``audit:read`` scope.

Listing the audit is not itself recorded in it: it shows who read which customer and
when, not the customers' data.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query

from hub.api.audit import Audit
from hub.api.auth import AuthenticatedRoute, requires
from hub.api.errors import ERRORS
from hub.api.models import AuditItem, AuditPage, AuditSearch
from hub.api.paging import Cursor, Limit, Timestamp, decode_cursor, encode_cursor
from hub.storage.audit import AuditEntry, AuditQuery

CustomerFilter = Annotated[
    str | None, Query(min_length=1, max_length=256, description="Reads that named or served this customer.")
]
WhoFilter = Annotated[str | None, Query(min_length=1, max_length=64, description="The token's name.")]


def audit_router(audit: Audit) -> APIRouter:
    router = APIRouter(route_class=AuthenticatedRoute)

    @router.get(
        "/audit/reads", tags=["audit"], responses=ERRORS, dependencies=[Depends(requires("audit:read"))]
    )
    async def audit_reads(
        customer_id: CustomerFilter = None,
        who: WhoFilter = None,
        since: Annotated[Timestamp | None, Query(description="RFC 3339, inclusive.")] = None,
        until: Annotated[Timestamp | None, Query(description="RFC 3339, exclusive.")] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> AuditPage:
        """Every read of a customer through the API, refused ones included, newest first."""
        after = decode_cursor(cursor)
        if after is not None and not after[1].isdigit():
            raise HTTPException(422, "query.cursor: not a cursor this API gave out")
        query = AuditQuery(customer_id=customer_id, token_name=who, since=since, until=until)
        rows = await audit.reads(query, after=after, limit=limit + 1)
        page = rows[:limit]
        last = page[-1] if len(rows) > limit else None
        return AuditPage(
            items=[audit_item(row) for row in page],
            next_cursor=encode_cursor(last.read_at, str(last.id)) if last else None,
        )

    return router


def audit_item(row: AuditEntry) -> AuditItem:
    searched = {"kind": row.search_kind, "shown": row.search_shown or ""}
    return AuditItem(
        id=row.id,
        read_at=row.read_at,
        who=row.token_name,
        view=row.view,
        customer_id=row.customer_id,
        served_id=row.served_id,
        search=AuditSearch.model_validate(searched) if row.search_kind is not None else None,
        status=row.status,
        client=row.client,
    )
