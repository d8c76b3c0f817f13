"""Reading the stored contact history for a backtest: in one snapshot, streamed.

Three server-side cursors in one read-only transaction (so they see the same history),
each ordered by customer id in byte order (``COLLATE "C"``, the order Python compares
strings in): the events, the profiles, the declined offers. They are merged customer by
customer, so memory holds one customer's history at a time. Nothing is written.

Usage::

    async with HistoryStore.connected(url) as store:
        async with replay_reader(store, selection) as reader:
            outline = await reader.outline(partitions, grace)
            async for batch in reader.customers(decline_for):
                ...
"""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from hub.core.backtest.replay import CustomerHistory, Decline
from hub.core.groups import PitchKey
from hub.core.records import ReceivedEvent
from hub.storage.errors import converted
from hub.storage.history import HistoryStore
from schemas.interaction import parse_interaction
from schemas.profile import CustomerProfile

FETCH_ROWS = 5_000
MAX_CHECKPOINTS = 1024


@dataclass(frozen=True, slots=True)
class Selection:
    """Which stored events a backtest reads."""

    since: datetime | None = None
    """Events from this time on (the window's start less the warm-up)."""
    until: datetime | None = None
    """Events before this time."""
    first_customers: int | None = None
    """Only the first N customers by id."""
    sample: float | None = None
    """Only this share of customers, chosen by a stable hash of the id."""
    after: str | None = None
    """Only customers after this id (byte order): with ``up_to``, the range of one process's part."""
    by_event_time: bool = False
    """Each customer's events strictly by event time, instead of as the worker recorded them."""
    up_to: str | None = None
    """Only customers up to this id (byte order); what ``first_customers`` comes to."""


@dataclass(slots=True)
class Outline:
    """What the selection holds, read before the replay (for the progress bar and the clocks)."""

    events: int = 0
    customers: int = 0
    first: datetime | None = None
    last: datetime | None = None
    shard_clocks: dict[int, datetime] = field(default_factory=dict)
    """Per shard, the latest event time of any customer's event (sampled or not): how far
    the live worker's clock for the shard went."""
    last_customer: str | None = None
    """With ``first_customers``: the last customer id taken."""
    checkpoints: list[tuple[int, str]] = field(default_factory=list)
    """(events up to and including the customer, customer id), every ``spacing`` events or
    so: where to split the customers into parts of about the same number of events."""
    spacing: int = 1

    def split(self, count: int) -> list[tuple[str | None, str | None]]:
        """``count`` ranges (after, up to] of customer ids, each with about 1/count of the
        events (None: no bound). Customers are read in id order, so a range is read without
        a filter to compute for each row."""
        cuts = [
            next(
                (customer for events, customer in self.checkpoints if events >= self.events * i / count), None
            )
            for i in range(1, count)
        ]
        return list(zip([None, *cuts], [*cuts, None], strict=True))

    def _passed(self, customer_id: str) -> None:
        # A checkpoint every ``spacing`` events; twice as far apart when there are too many,
        # so that memory stays bounded whatever the number of customers.
        if not self.checkpoints or self.events - self.checkpoints[-1][0] >= self.spacing:
            self.checkpoints.append((self.events, customer_id))
            if len(self.checkpoints) > MAX_CHECKPOINTS:
                self.checkpoints, self.spacing = self.checkpoints[1::2], self.spacing * 2


class ReplayReader:
    def __init__(self, connection: asyncpg.Connection, selection: Selection) -> None:
        self._connection = connection
        self._selection = selection
        self._last_customer: str | None = selection.up_to

    async def outline(self, shard_of: Callable[[str], int]) -> Outline:
        """One pass over the selection's events grouped by customer (no event is decoded)."""
        found = Outline()
        wanted = self._selection.first_customers
        async for row in self._rows(_OUTLINE, self._selection.since, self._selection.until):
            customer_id, clock = row["customer_id"], row["clock"]
            shard = shard_of(customer_id)
            if shard not in found.shard_clocks or clock > found.shard_clocks[shard]:
                found.shard_clocks[shard] = clock
            if not row["in_sample"] or (wanted is not None and found.customers >= wanted):
                continue
            found.customers += 1
            found.events += row["events"]
            found.last_customer = customer_id
            found.first = row["first"] if found.first is None else min(found.first, row["first"])
            found.last = row["last"] if found.last is None else max(found.last, row["last"])
            found._passed(customer_id)
        if wanted is not None:
            self._last_customer = found.last_customer or ""
        return found

    async def customers(
        self, shard_of: Callable[[str], int], declined_for: timedelta
    ) -> AsyncIterator[CustomerHistory]:
        """Each selected customer's history, in customer order (call :meth:`outline` first
        when only the first N customers are wanted)."""
        since, until, last = self._selection.since, self._selection.until, self._last_customer
        after = self._selection.after
        groups, pitches = await self._groups()
        profiles = _Lookahead(self._rows(_PROFILES, last, after))
        declines = _Lookahead(self._rows(_DECLINES, last, after))
        customer_id: str | None = None
        shard = 0
        events: list[ReceivedEvent] = []
        # Row by row in a plain loop over each fetch: a step of an async generator per row,
        # and columns by name, cost about a tenth of the reading.
        query = events_query(by_event_time=self._selection.by_event_time)
        async for rows in self._fetches(query, since, until, last, after):
            for row_customer, party, early, raw in rows:
                if row_customer != customer_id:
                    if customer_id is not None:
                        history = await _history(
                            customer_id, shard_of, events, profiles, declines, declined_for
                        )
                        yield replace(history, groups=groups, pitches=pitches)
                    customer_id, events = row_customer, []
                    shard = shard_of(row_customer)
                event = parse_interaction(raw)
                received = event.occurred_at if early is None else _same_zone(early, event.occurred_at)
                events.append(ReceivedEvent(event, received, "", 0, 0, shard, party=party))
        if customer_id is not None:
            history = await _history(customer_id, shard_of, events, profiles, declines, declined_for)
            yield replace(history, groups=groups, pitches=pitches)

    async def _groups(self) -> tuple[dict[str, CustomerProfile], dict[PitchKey, str]]:
        """Every group's profile and the group-level cap's claims: read whole, as the
        companies of a group are read one by one (both are few)."""
        with converted("reading the groups"):
            groups = await self._connection.fetch(_GROUPS)
            pitches = await self._connection.fetch(_PITCHES)
        return (
            {r["customer_id"]: CustomerProfile.model_validate_json(r["profile"]) for r in groups},
            {(r["group_id"], r["product"], r["week"]): r["trigger_id"] for r in pitches},
        )

    def selection_read(self) -> Selection:
        """The selection, with the first N customers (if asked) as the outline found them:
        for another reader of the same snapshot, which then needs no outline of its own."""
        return replace(self._selection, first_customers=None, up_to=self._last_customer)

    async def export_snapshot(self) -> str:
        """The id of this transaction's snapshot, for other processes to read the same history."""
        with converted("exporting the snapshot"):
            snapshot = await self._connection.fetchval("SELECT pg_export_snapshot()")
        assert isinstance(snapshot, str)
        return snapshot

    async def _rows(self, query: str, *args: Any) -> AsyncIterator[asyncpg.Record]:
        """Rows of ``query``, with the sample's share as the parameter after ``args``."""
        async for rows in self._fetches(query, *args):
            for row in rows:
                yield row

    async def _fetches(self, query: str, *args: Any) -> AsyncIterator[list[asyncpg.Record]]:
        """The rows of :meth:`_rows`, as fetched from the server's cursor."""
        with converted("reading the contact history"):
            cursor = await self._connection.cursor(query, *args, self._selection.sample)
            while True:
                rows = await cursor.fetch(FETCH_ROWS)
                yield rows
                if len(rows) < FETCH_ROWS:
                    return


def _same_zone(received_at: datetime, occurred_at: datetime) -> datetime:
    """``received_at`` (UTC, from the driver) with the very tzinfo object of the event's time
    when that is UTC too (the session's TimeZone is UTC): the fold compares the two for every
    event, and times of two different tzinfo objects compare ten times slower."""
    zone = occurred_at.tzinfo
    if zone is not None and occurred_at.utcoffset() == _NO_OFFSET and received_at.utcoffset() == _NO_OFFSET:
        return received_at.replace(tzinfo=zone)
    return received_at


_NO_OFFSET = timedelta(0)


class _Lookahead:
    """A stream of rows ordered by customer id, read up to a given customer."""

    def __init__(self, rows: AsyncIterator[asyncpg.Record]) -> None:
        self._rows = rows
        self._next: asyncpg.Record | None = None
        self._done = False

    async def take(self, customer_id: str) -> list[asyncpg.Record]:
        """The rows of ``customer_id``; those of customers before it are skipped."""
        taken = []
        while not self._done:
            if self._next is None:
                try:
                    self._next = await anext(self._rows)
                except StopAsyncIteration:
                    self._done = True
                    break
            row = self._next
            assert row is not None
            if row["customer_id"] > customer_id:
                break
            if row["customer_id"] == customer_id:
                taken.append(row)
            self._next = None
        return taken


async def _history(
    customer_id: str,
    shard_of: Callable[[str], int],
    events: list[ReceivedEvent],
    profiles: _Lookahead,
    declines: _Lookahead,
    declined_for: timedelta,
) -> CustomerHistory:
    profile_rows = await profiles.take(customer_id)
    profile = CustomerProfile.model_validate_json(profile_rows[0]["profile"]) if profile_rows else None
    return CustomerHistory(
        customer_id,
        shard_of(customer_id),
        profile,
        events,
        [Decline(r["product"], r["at"], r["at"] + declined_for) for r in await declines.take(customer_id)],
    )


READING_SETTINGS = (
    # The sort of the whole history by customer is the server's biggest cost.
    "SET LOCAL work_mem = '256MB'",
    # Times in the events' JSON then read back with the one offset the driver's have.
    "SET LOCAL TimeZone = 'UTC'",
)
"""The reader's transaction's settings."""


@asynccontextmanager
async def replay_reader(
    store: HistoryStore, selection: Selection, *, snapshot: str | None = None
) -> AsyncIterator[ReplayReader]:
    """A reader on one connection, in a read-only transaction of one snapshot: its own,
    or ``snapshot`` exported by another reader's (:meth:`ReplayReader.export_snapshot`)."""
    with converted("opening a read-only transaction"):
        connection = await store.pool.acquire()
    try:
        with converted("reading the contact history"):
            async with connection.transaction(isolation="repeatable_read", readonly=True):
                if snapshot is not None:
                    await connection.execute(f"SET TRANSACTION SNAPSHOT '{_quoted(snapshot)}'")
                for setting in READING_SETTINGS:
                    await connection.execute(setting)
                yield ReplayReader(connection, selection)
    finally:
        await store.pool.release(connection)


def _quoted(snapshot: str) -> str:
    # A snapshot id is hex digits and dashes (e.g. 00000003-0000001B-1); nothing else passes.
    if not snapshot.replace("-", "").isalnum():
        raise ValueError(f"not a snapshot id: {snapshot!r}")
    return snapshot


def _in_sample(column: str, param: int) -> str:
    """The sample of the customers, its share on parameter ``$param`` (NULL for all). A
    stable choice: the first 32 bits of the id's MD5 as a fraction of 2^32, below the
    share. md5() is the same on every server and version."""
    share = f"${param}"
    return (
        f"({share}::float8 IS NULL OR "
        f"('x' || substr(md5({column}), 1, 8))::bit(32)::bigint / 4294967296.0 < {share}::float8)"
    )


_WINDOW = "($1::timestamptz IS NULL OR occurred_at >= $1) AND ($2::timestamptz IS NULL OR occurred_at < $2)"


def _in_range(column: str, param: int) -> str:
    """Customers up to ``$param`` and after ``$param+1`` (byte order; NULL for no bound)."""
    up_to, after = f"${param}", f"${param + 1}"
    return (
        f'({up_to}::text IS NULL OR {column} COLLATE "C" <= {up_to}) '
        f'AND ({after}::text IS NULL OR {column} COLLATE "C" > {after})'
    )


# Each customer's copies of the stored events: their own, and the company's copy of each
# event someone did for it (interaction v2 on_behalf_of), as the worker decided them, with
# the company as the copy's customer and party. Each copy is placed by when its own side
# was recorded: the event's row may have been written by the other side's batch first.
_COPIES = """(
    SELECT i.customer_id, NULL::text AS party, i.customer_id AS actor, i.event_id, i.channel,
           i.type, i.occurred_at, i.received_at, i.source, i.payload, i.on_behalf_of,
           i.kafka_topic, i.kafka_partition, i.kafka_offset,
           CASE WHEN i.on_behalf_of IS NULL THEN i.recorded_at ELSE coalesce(
               (SELECT a.recorded_at FROM interaction_parties a
                WHERE a.event_id = i.event_id AND a.role = 'acting'),
               i.recorded_at) END AS recorded_at
    FROM interactions i
    UNION ALL
    SELECT p.customer_id, p.customer_id, i.customer_id, i.event_id, i.channel, i.type,
           i.occurred_at, i.received_at, i.source, i.payload, i.on_behalf_of, i.kafka_topic,
           i.kafka_partition, i.kafka_offset, p.recorded_at
    FROM interaction_parties p JOIN interactions i USING (event_id)
    WHERE p.role = 'represented'
) AS copies"""

# The outline is of every customer (the shard clocks are the live worker's, whatever the
# sample); whether a customer is in the sample comes back as a column.
_OUTLINE = f"""
SELECT customer_id, count(*) AS events, min(occurred_at) AS first, max(occurred_at) AS last,
       max(least(occurred_at, received_at)) AS clock, {_in_sample("customer_id", 3)} AS in_sample
FROM {_COPIES} WHERE {_WINDOW}
GROUP BY customer_id ORDER BY customer_id COLLATE "C"
"""

# In the order the worker decided them: by the batch that recorded them (recorded_at is
# the batch transaction's start), then by event time, as the hot path releases a batch.
# A history where nothing arrived late is in event-time order either way.
_AS_RECORDED = "recorded_at, occurred_at"
_BY_EVENT_TIME = "occurred_at"

# The fold reads an event's receipt time only for its shard's clock, the earlier of the
# event's own time and its receipt: nearly every event is received after its own time,
# which then stands for the receipt (the same clock, and no time zone to convert).
# The event's JSON is put together as text: json_build_object over the same columns costs
# PostgreSQL twice as much (2.8 s against 1.4 s per million rows), the largest part of its
# work for the query. Every value is a JSON value: strings through to_json, the payload and
# the source as stored (jsonb); a version 1 event has no on_behalf_of key.
_EVENT_JSON = """'{"event_id":' || to_json(event_id)::text
    || ',"schema_version":' || CASE WHEN on_behalf_of IS NULL THEN '1' ELSE '2' END
    || ',"channel":' || to_json(channel)::text || ',"type":' || to_json(type)::text
    || ',"occurred_at":' || to_json(occurred_at)::text
    || ',"customer":{"customer_id":' || to_json(actor)::text || '}'
    || ',"source":' || source::text || ',"payload":' || payload::text
    || coalesce(',"on_behalf_of":' || to_json(on_behalf_of)::text, '') || '}'"""

_EVENTS = f"""
SELECT customer_id, party, CASE WHEN received_at < occurred_at THEN received_at END AS received_early,
       {_EVENT_JSON} AS event
FROM {_COPIES}
WHERE {_WINDOW} AND {_in_range("customer_id", 3)} AND {_in_sample("customer_id", 5)}
ORDER BY customer_id COLLATE "C", {{order}}, received_at, kafka_topic, kafka_partition, kafka_offset, event_id
"""


def events_query(*, by_event_time: bool = False) -> str:
    """The query of the selected customers' events, in the order they are replayed: its
    parameters are the window ($1, $2), the customer range ($3, $4) and the sample ($5)."""
    return _EVENTS.replace("{order}", _BY_EVENT_TIME if by_event_time else _AS_RECORDED)


_GROUPS = """
SELECT customer_id, profile::text AS profile FROM customer_profiles
WHERE customer_id IN (SELECT group_id FROM customer_profiles WHERE group_id IS NOT NULL)
"""

_PITCHES = "SELECT group_id, product, week, trigger_id FROM group_pitches"

_PROFILES = f"""
SELECT customer_id, profile::text AS profile FROM customer_profiles
WHERE {_in_range("customer_id", 1)} AND {_in_sample("customer_id", 3)}
ORDER BY customer_id COLLATE "C"
"""

# A decline blocks the product from the time of its outcome, for HUB_POLICY__DECLINED_DAYS.
_DECLINES = f"""
SELECT o.customer_id, d.product, o.at FROM outcomes o JOIN decisions d ON d.decision_id = o.trigger_id
WHERE o.outcome = 'declined' AND d.product IS NOT NULL
  AND {_in_range("o.customer_id", 1)} AND {_in_sample("o.customer_id", 3)}
ORDER BY o.customer_id COLLATE "C", o.at
"""
