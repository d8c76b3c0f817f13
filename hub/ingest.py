"""Ingest: validate channel records, resolve who they are about, re-key them by customer.

Bad records go to the dead-letter topic. A record that names no customer_id is resolved
through its channel identifiers (the profiles' identifier index in PostgreSQL); if no
profile lists them yet it waits, unacknowledged, in a bounded waiting room and is looked
up again with every batch and every few seconds. Accepted records keep their original
bytes: the customer they belong to travels as the key and in a header, and where they came
from in headers, so the history stage validates each event once more without re-encoding it.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hub import metrics
from hub.clock import Clock, utc_now
from hub.core.identity import Bound, WaitingRoom, lookup_keys, resolve, survivor
from hub.core.pii import Keyring
from hub.core.validation import Rejection, decode_interaction
from hub.dead_letter import SourceRecord, dead_letter
from hub.settings import Settings
from hub.sink import RecordSink
from schemas import topics
from schemas.interaction import Interaction

HEADER_RECEIVED_AT = "hub-received-at"
HEADER_TOPIC = "hub-source-topic"
HEADER_PARTITION = "hub-source-partition"
HEADER_OFFSET = "hub-source-offset"
HEADER_CUSTOMER = "hub-customer-id"

Owners = Callable[[Sequence[str]], Awaitable[dict[str, str]]]
"""Which customer holds each identifier lookup key (PostgreSQL's identifier index)."""
MergedInto = Callable[[str], str | None]
"""The customer id a customer was merged into, if any (the profile table)."""


@dataclass(frozen=True, slots=True)
class Identity:
    """How ingest tells who an event is about."""

    keyring: Keyring
    owners: Owners
    merged_into: MergedInto


@dataclass(frozen=True, slots=True)
class _Pending:
    record: SourceRecord
    event: Interaction
    keys: dict[str, list[str]]
    received_at: datetime


class Ingestor:
    def __init__(
        self, settings: Settings, sink: RecordSink, identity: Identity, clock: Clock = utc_now
    ) -> None:
        self._sink = sink
        self._identity = identity
        self._clock = clock
        self._tolerance = timedelta(hours=settings.future_tolerance_hours)
        self._channel_of = {settings.topic(t): ch for ch, t in topics.CHANNEL_TOPICS.items()}
        self._accepted_topic = settings.topic(topics.INTERACTIONS_ACCEPTED)
        self._dlq_topic = settings.topic(topics.INTERACTIONS_DLQ)
        self._wait_minutes = settings.identity.wait_minutes
        self._max_waiting = settings.identity.max_waiting_per_partition
        self._min_wait = timedelta(seconds=settings.identity.min_wait_seconds)
        self._room: WaitingRoom[tuple[str, int], _Pending] = WaitingRoom(
            max_wait=timedelta(minutes=self._wait_minutes), max_per_partition=self._max_waiting
        )
        self._waiting_at: set[tuple[str, int, int]] = set()
        # The agent's batches and the re-check timer take turns.
        self._lock = asyncio.Lock()

    @property
    def waiting(self) -> int:
        return len(self._room)

    async def handle(self, records: Sequence[SourceRecord]) -> list[SourceRecord]:
        """Route what can be routed; return the records settled by this call.

        Settled means published to the internal topic or the dead-letter topic and
        acknowledged by the broker, this batch's records or earlier waiting ones. Records
        not returned are waiting for their profile and must stay unacknowledged.
        """
        async with self._lock:
            now = self._clock()
            # Faust delivers records again after a rebalance; those still waiting are the
            # waiting room's to settle, not this batch's.
            fresh = [record for record in records if _position(record) not in self._waiting_at]
            decoded = [(record, self._decode(record, now)) for record in fresh]
            # The waiting records are looked up again only by the timer (no records):
            # looking all of them up with every batch would slow ingest down exactly when
            # a backlog builds up.
            owners = await self._owners_for(decoded, waiting=self._to_look_up_again(records))
            acks: list[Awaitable[Any]] = []
            settled: list[SourceRecord] = []
            for pending in self._room.release(lambda p: resolve(p.keys, owners) is not None):
                acks.append(await self._route_resolved(pending, owners))
                settled.append(pending.record)
                self._waiting_at.discard(_position(pending.record))
            for record, outcome in decoded:
                if isinstance(outcome, Rejection):
                    acks.append(await self._dead_letter(record, outcome, now))
                    settled.append(record)
                    continue
                partition = (record.topic, record.partition)
                anonymous = outcome.customer.customer_id is None
                keys = lookup_keys(outcome.customer, self._identity.keyring) if anonymous else {}
                pending = _Pending(record, outcome, keys, now)
                if anonymous and resolve(keys, owners) is None:
                    self._waiting_at.add(_position(record))
                    self._room.add(partition, pending, min(outcome.occurred_at, now), now)
                    continue
                self._room.observe(partition, min(outcome.occurred_at, now))
                acks.append(await self._route_resolved(pending, owners))
                settled.append(record)
            for pending, bound in self._room.expired(received_before=now - self._min_wait, now=now):
                acks.append(await self._dead_letter(pending.record, self._gave_up(pending, bound), now))
                settled.append(pending.record)
                self._waiting_at.discard(_position(pending.record))
            await asyncio.gather(*acks)
            metrics.IDENTITY_WAITING.set(len(self._room))
            return settled

    def forget(self, is_assigned: Callable[[str, int], bool]) -> None:
        """Drop waiting records of partitions this worker no longer owns: their new owner
        reads them again from the committed offset."""
        for pending in self._room.forget(lambda partition: is_assigned(*partition)):
            self._waiting_at.discard(_position(pending.record))
        metrics.IDENTITY_WAITING.set(len(self._room))

    def _decode(self, record: SourceRecord, now: datetime) -> Interaction | Rejection:
        return decode_interaction(
            record.value,
            topic_channel=self._channel_of[record.topic],
            now=now,
            future_tolerance=self._tolerance,
        )

    def _to_look_up_again(self, records: Sequence[SourceRecord]) -> list[_Pending]:
        """Every waiting record on the timer's call (no records); else those delivered again."""
        if not records:
            return list(self._room)
        again = {_position(record) for record in records} & self._waiting_at
        return [pending for pending in self._room if _position(pending.record) in again]

    async def _owners_for(
        self, decoded: Sequence[tuple[SourceRecord, Interaction | Rejection]], *, waiting: list[_Pending]
    ) -> dict[str, str]:
        """One lookup for every identifier that needs one: new records without a
        customer_id, and the ``waiting`` ones to look up again."""
        keys: list[str] = []
        for _, outcome in decoded:
            if not isinstance(outcome, Rejection) and outcome.customer.customer_id is None:
                keys += _flat(lookup_keys(outcome.customer, self._identity.keyring))
        for pending in waiting:
            keys += _flat(pending.keys)
        return await self._identity.owners(sorted(set(keys))) if keys else {}

    async def _route_resolved(self, pending: _Pending, owners: dict[str, str]) -> Awaitable[Any]:
        event = pending.event
        named = event.customer.customer_id
        if named is None:
            found = resolve(pending.keys, owners)
            assert found is not None
            kind, named = found
            metrics.IDENTITY_RESOLVED.labels(kind).inc()
        customer_id = survivor(named, self._identity.merged_into)
        if customer_id != named:
            metrics.CUSTOMERS_MERGED.inc()
        metrics.EVENTS_CONSUMED.labels(event.channel, event.type).inc()
        record = pending.record
        headers = {
            HEADER_RECEIVED_AT: pending.received_at.isoformat().encode(),
            HEADER_TOPIC: record.topic.encode(),
            HEADER_PARTITION: str(record.partition).encode(),
            HEADER_OFFSET: str(record.offset).encode(),
            HEADER_CUSTOMER: customer_id.encode(),
        }
        assert record.value is not None
        return await self._sink.send(self._accepted_topic, customer_id.encode(), record.value, headers)

    def _gave_up(self, pending: _Pending, bound: Bound) -> Rejection:
        kinds = ", ".join(pending.keys)
        if bound == "time":
            why = f"within {self._wait_minutes:g} minutes of event time"
        else:
            why = (
                f"before {self._max_waiting} later events of partition {pending.record.partition} "
                "were waiting too (HUB_IDENTITY__MAX_WAITING_PER_PARTITION)"
            )
        return Rejection(
            "unknown_customer", f"no customer_id, and no customer profile listed its {kinds} {why}"
        )

    async def _dead_letter(self, record: SourceRecord, rejection: Rejection, now: datetime) -> Awaitable[Any]:
        return await dead_letter(
            self._sink, self._dlq_topic, record, category=rejection.category, reason=rejection.reason, now=now
        )


def _position(record: SourceRecord) -> tuple[str, int, int]:
    return record.topic, record.partition, record.offset


def _flat(keys: dict[str, list[str]]) -> list[str]:
    return [key for candidates in keys.values() for key in candidates]
