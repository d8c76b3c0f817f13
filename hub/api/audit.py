"""Recording every customer read in the audit, before its answer leaves.

A route that reads a customer declares ``dependencies=[..., Depends(audited("profile"))]``;
:class:`hub.api.auth.AuthenticatedRoute` then wraps it in :func:`recording`, outside the
token check, so that a refused attempt (401, 403) is recorded too. The handler adds what
only it learns (who was served, what was searched) to the request's :class:`ReadNote`.

Why after the answer is built and before it is sent, in the same request: the row then
carries the outcome, in one insert (the table is append-only, so no "started" row to
update later). If the insert fails the data is withheld (503, or 500) rather than sent
unaudited; a crash after the insert and before the answer leaves records a read the
client never got, which errs on the side a bank wants. The cost is one INSERT round trip
on the API's pool per read.
"""

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import Request, Response

from hub.api.errors import status_for
from hub.api.models import IdentifierKind, ReadView
from hub.core.pii import Keyring, display_form, normalised
from hub.storage.audit import AuditEntry, AuditQuery, CustomerRead
from hub.storage.customer_reads import Position

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class AuditLog(Protocol):
    """Where reads are recorded; :class:`hub.storage.audit.AuditStore` in production."""

    async def record(self, read: CustomerRead) -> None: ...


class Audit(AuditLog, Protocol):
    """The audit the API writes and lists."""

    async def reads(self, query: AuditQuery, *, after: Position | None, limit: int) -> list[AuditEntry]: ...


@dataclass(slots=True)
class ReadNote:
    """What a customer read's handler learnt, for its audit row."""

    customer_id: str | None = None
    """The id the request named, when not in the path (a search by id)."""
    served_id: str | None = None
    search_kind: str | None = None
    search_key: str | None = None
    search_shown: str | None = None

    def searched(self, keyring: Keyring, kind: IdentifierKind, value: str) -> None:
        """Note a search by identifier as its keyed hash and display form, never as typed."""
        self.search_kind = kind
        self.search_key = keyring.current.digest(kind, value)
        self.search_shown = display_form(kind, normalised(kind, value))


def audited(view: ReadView) -> Callable[[Request], ReadNote]:
    """A route dependency that marks the route as a customer read of ``view``."""

    def note(request: Request) -> ReadNote:
        return read_note(request)

    note.audit_view = view  # type: ignore[attr-defined]  # read by AuthenticatedRoute
    return note


def read_note(request: Request) -> ReadNote:
    """The request's note, for the handler to fill in (a dependency)."""
    note: ReadNote = request.state.audit_note
    return note


def recording(handler: Handler, view: ReadView) -> Handler:
    """``handler``, with one audit row written for every answer, refusals included."""

    async def audited_handler(request: Request) -> Response:
        note = ReadNote()
        request.state.audit_note = note
        try:
            response = await handler(request)
        except Exception as exc:
            # Converted to its answer by the app's error handlers, after this.
            await _record(request, view, note, status_for(exc))
            raise
        await _record(request, view, note, response.status_code)
        return response

    return audited_handler


async def _record(request: Request, view: ReadView, note: ReadNote, status: int) -> None:
    token = getattr(request.state, "api_token", None)
    log: AuditLog = request.app.state.audit_log
    await log.record(
        CustomerRead(
            token_name=token.name if token is not None else None,
            view=view,
            status=status,
            customer_id=note.customer_id or request.path_params.get("customer_id"),
            served_id=note.served_id,
            search_kind=note.search_kind,
            search_key=note.search_key,
            search_shown=note.search_shown,
            client=request.client.host if request.client else None,
        )
    )
