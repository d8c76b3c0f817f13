"""The audit of customer reads in PostgreSQL: one row per API request that reads a customer.

Append-only (the table refuses updates and deletes). The API writes a row before its
answer leaves; ``hub audit`` and ``GET /audit/reads`` list them, newest first.

Usage::

    audit = AuditStore(store)            # over a HistoryStore's pool
    await audit.record(CustomerRead(token_name="rm-desk", view="profile", customer_id="C1", ...))
    rows = await audit.reads(AuditQuery(customer_id="C1"), limit=50)
"""

from dataclasses import dataclass
from datetime import datetime

from hub.storage.customer_reads import Position
from hub.storage.errors import reading
from hub.storage.history import HistoryStore


@dataclass(frozen=True, slots=True)
class CustomerRead:
    """One read as the API records it; the database adds its id and the time."""

    token_name: str | None
    """Who: the token's name; None when no configured token was presented."""
    view: str
    """What: profile, history, decisions or search."""
    status: int
    customer_id: str | None = None
    """The customer id the request named; None for a search by identifier."""
    served_id: str | None = None
    """The customer whose data the answer carried, the survivor of merges; None for none."""
    search_kind: str | None = None
    search_key: str | None = None
    """A search's identifier as its keyed hash (never the identifier itself)."""
    search_shown: str | None = None
    """A search's identifier in display form: numbers masked."""
    client: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    read_at: datetime
    token_name: str | None
    view: str
    customer_id: str | None
    served_id: str | None
    search_kind: str | None
    search_shown: str | None
    status: int
    client: str | None


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which entries to list; every filter given must match."""

    customer_id: str | None = None
    """Reads that named this customer or served their data."""
    token_name: str | None = None
    since: datetime | None = None
    """Inclusive."""
    until: datetime | None = None
    """Exclusive."""


class AuditStore:
    def __init__(self, store: HistoryStore) -> None:
        self._pool = store.pool

    async def record(self, read: CustomerRead) -> None:
        """Write one read; StoreUnavailable or StoreError when it could not be written."""
        with reading("recording a customer read in the audit"):
            await self._pool.execute(
                _RECORD,
                read.token_name,
                read.view,
                read.customer_id,
                read.served_id,
                read.search_kind,
                read.search_key,
                read.search_shown,
                read.status,
                read.client,
            )

    async def reads(
        self, query: AuditQuery, *, after: Position | None = None, limit: int
    ) -> list[AuditEntry]:
        """Entries newest first; ``after`` (the last entry's time and id) continues a page."""
        after_at, after_id = after if after is not None else (None, None)
        with reading("reading the audit"):
            rows = await self._pool.fetch(
                _READS,
                query.customer_id,
                query.token_name,
                query.since,
                query.until,
                after_at,
                int(after_id) if after_id is not None else None,
                limit,
            )
        return [AuditEntry(**dict(row)) for row in rows]


_RECORD = """
INSERT INTO customer_reads_audit (token_name, view, customer_id, served_id, search_kind, search_key,
                                  search_shown, status, client)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""

# Keyset pagination newest first, as the API's other pages; the by_customer, by_served
# and by_token indexes find a customer's or a reader's rows, by_time the rest.
_READS = """
SELECT id, read_at, token_name, view, customer_id, served_id, search_kind, search_shown, status, client
FROM customer_reads_audit
WHERE ($1::text IS NULL OR customer_id = $1 OR served_id = $1)
  AND ($2::text IS NULL OR token_name = $2)
  AND ($3::timestamptz IS NULL OR read_at >= $3)
  AND ($4::timestamptz IS NULL OR read_at < $4)
  AND ($5::timestamptz IS NULL OR (read_at, id) < ($5, $6::bigint))
ORDER BY read_at DESC, id DESC
LIMIT $7
"""
