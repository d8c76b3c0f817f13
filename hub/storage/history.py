"""The contact history and trigger outbox in PostgreSQL.

Writes are batched: one statement per batch, never a round trip per event. Inserting
an event that is already stored does nothing, so replaying a topic adds no row; the ids
that were new come back, which is how the agents tell a first delivery from a replay.

Usage::

    store = await HistoryStore.open(url)
    async with store.unit_of_work() as work:
        new_ids = await work.add_interactions(events)
        ...
        await work.add_triggers(outbox)
    await store.mark_published([t.trigger.trigger_id for t in outbox])
"""

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

import asyncpg

from hub import metrics
from hub.core.pii import masked_identifiers
from hub.errors import StoreUnavailable
from hub.storage.errors import converted
from schemas.interaction import Interaction
from schemas.trigger import Trigger


@dataclass(frozen=True, slots=True)
class ReceivedEvent:
    """A validated interaction with where and when the hub received it."""

    event: Interaction
    received_at: datetime
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    trigger: Trigger
    topic: str
    caused_by: str
    published: bool = False


@dataclass(frozen=True, slots=True)
class HistoryRow:
    event_id: str
    channel: str
    type: str
    occurred_at: datetime
    source: dict[str, Any]
    payload: dict[str, Any]
    identifiers: dict[str, Any]


class UnitOfWork:
    """Statements of one transaction; created by :meth:`HistoryStore.unit_of_work`."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def add_interactions(self, received: Sequence[ReceivedEvent]) -> set[str]:
        """Store the events not stored before; return the ids of those that were new."""
        if not received:
            return set()
        columns: list[list[Any]] = [[] for _ in range(12)]
        for item in received:
            event = item.event
            values = (
                event.event_id,
                event.customer.customer_id,
                event.channel,
                event.type,
                event.occurred_at,
                item.received_at,
                event.source.model_dump_json(exclude_none=True),
                event.payload.model_dump_json(),
                json.dumps(masked_identifiers(event.customer)),
                item.topic,
                item.partition,
                item.offset,
            )
            for column, value in zip(columns, values, strict=True):
                column.append(value)
        with metrics.DB_WRITE_SECONDS.labels("interactions").time(), converted("storing interactions"):
            rows = await self._connection.fetch(_INSERT_INTERACTIONS, *columns)
        metrics.DB_BATCH_SIZE.labels("interactions").observe(len(received))
        return {row["event_id"] for row in rows}

    async def triggers_caused_by(self, event_ids: Sequence[str]) -> list[OutboxEntry]:
        """Triggers recorded earlier for these events (a replay after a crash)."""
        if not event_ids:
            return []
        with converted("reading the trigger outbox"):
            rows = await self._connection.fetch(_SELECT_CAUSED_BY, list(event_ids))
        return [
            OutboxEntry(
                Trigger.model_validate_json(row["body"]),
                row["topic"],
                row["caused_by"],
                published=row["published_at"] is not None,
            )
            for row in rows
        ]

    async def add_triggers(self, entries: Sequence[OutboxEntry]) -> None:
        if not entries:
            return
        records = [
            (
                e.trigger.trigger_id,
                e.trigger.customer_id,
                e.trigger.kind,
                e.trigger.rule.id,
                e.trigger.rule.version,
                e.caused_by,
                e.topic,
                e.trigger.model_dump_json(),
                e.trigger.created_at,
            )
            for e in entries
        ]
        with metrics.DB_WRITE_SECONDS.labels("triggers").time(), converted("storing triggers"):
            await self._connection.executemany(_INSERT_TRIGGER, records)
        metrics.DB_BATCH_SIZE.labels("triggers").observe(len(entries))


class HistoryStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, url: str, *, pool_size: int = 4) -> Self:
        """Connect a pool; StoreUnavailable names the server when it cannot be reached."""
        try:
            with converted("connecting"):
                pool = await asyncpg.create_pool(url, min_size=1, max_size=pool_size, timeout=10)
        except StoreUnavailable as exc:
            raise StoreUnavailable(
                f"cannot reach PostgreSQL at {_where(url)} (HUB_DATABASE_URL): {exc.__cause__}. "
                "Start the server or fix the URL; `hub infra up` starts a local one."
            ) from exc
        assert pool is not None
        return cls(pool)

    async def close(self) -> None:
        await self._pool.close()

    async def is_migrated(self) -> bool:
        """True when every migration shipped with this version has been applied."""
        from hub.storage.migrations import available_migrations

        with converted("reading the schema version"):
            exists = await self._pool.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
            applied = (
                await self._pool.fetchval("SELECT max(version) FROM schema_migrations") if exists else None
            )
        return applied is not None and applied >= available_migrations()[-1].version

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        with converted("opening a transaction"):
            connection = await self._pool.acquire()
        try:
            with converted("committing a batch"):
                async with connection.transaction():
                    yield UnitOfWork(connection)
        finally:
            await self._pool.release(connection)

    async def mark_published(self, trigger_ids: Sequence[str]) -> None:
        if not trigger_ids:
            return
        with converted("marking triggers published"):
            await self._pool.execute(_MARK_PUBLISHED, list(trigger_ids))

    async def history(self, customer_id: str, *, limit: int = 100) -> list[HistoryRow]:
        """The customer's interactions across channels, newest first (event time)."""
        with converted("reading the contact history"):
            rows = await self._pool.fetch(_SELECT_HISTORY, customer_id, limit)
        return [
            HistoryRow(
                row["event_id"],
                row["channel"],
                row["type"],
                row["occurred_at"],
                json.loads(row["source"]),
                json.loads(row["payload"]),
                json.loads(row["identifiers"]),
            )
            for row in rows
        ]

    async def triggers_for(self, customer_id: str, *, limit: int = 100) -> list[OutboxEntry]:
        with converted("reading triggers"):
            rows = await self._pool.fetch(_SELECT_TRIGGERS_FOR, customer_id, limit)
        return [
            OutboxEntry(
                Trigger.model_validate_json(r["body"]),
                r["topic"],
                r["caused_by"],
                r["published_at"] is not None,
            )
            for r in rows
        ]


def _where(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}"


_INSERT_INTERACTIONS = """
INSERT INTO interactions (event_id, customer_id, channel, type, occurred_at, received_at,
                          source, payload, identifiers, kafka_topic, kafka_partition, kafka_offset)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],
                     $6::timestamptz[], $7::jsonb[], $8::jsonb[], $9::jsonb[], $10::text[],
                     $11::integer[], $12::bigint[])
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""

_INSERT_TRIGGER = """
INSERT INTO triggers (trigger_id, customer_id, kind, rule_id, rule_version, caused_by, topic, body,
                      created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)
ON CONFLICT (trigger_id) DO NOTHING
"""

_SELECT_CAUSED_BY = """
SELECT body::text AS body, topic, caused_by, published_at FROM triggers WHERE caused_by = ANY($1::text[])
"""

_MARK_PUBLISHED = """
UPDATE triggers SET published_at = now() WHERE trigger_id = ANY($1::text[]) AND published_at IS NULL
"""

_SELECT_HISTORY = """
SELECT event_id, channel, type, occurred_at, source::text AS source, payload::text AS payload,
       identifiers::text AS identifiers
FROM interactions WHERE customer_id = $1
ORDER BY occurred_at DESC, event_id DESC LIMIT $2
"""

_SELECT_TRIGGERS_FOR = """
SELECT body::text AS body, topic, caused_by, published_at FROM triggers
WHERE customer_id = $1 ORDER BY created_at DESC LIMIT $2
"""
