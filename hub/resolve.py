"""Resolve: who an event is about, when its channel named the customer only by an identifier.

Ingest sends every valid event without ``customer_id`` to an internal topic keyed by the
keyed hash of its identifier; this stage looks the identifiers up in the profiles'
identifier index (PostgreSQL) and sends the event on, re-keyed by customer, exactly as
ingest does with the others. An event whose identifiers no profile lists yet waits,
unacknowledged, in a bounded waiting room and is looked up again every few seconds; the
events of one identifier leave in their original order. Only unresolved events wait here,
so a waiting one holds back the committed offset of no other event.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from hub import metrics
from hub.clock import Clock, utc_now
from hub.core.identity import Bound, WaitingRoom, lookup_keys, resolve
from hub.core.validation import Rejection
from hub.dead_letter import SourceRecord, dead_letter
from hub.ingest import Identity, party_copy, route_headers
from hub.settings import Settings
from hub.sink import RecordSink
from schemas import topics
from schemas.interaction import Interaction, parse_interaction

Position = tuple[str, int, int]


@dataclass(frozen=True, slots=True)
class UnresolvedRecord:
    """A record of the internal topic: where it is there, and where it came from."""

    position: Position
    source: SourceRecord
    """The channel record as it arrived: topic, partition, offset, key and bytes."""
    received_at: datetime


@dataclass(frozen=True, slots=True)
class _Pending:
    unresolved: UnresolvedRecord
    event: Interaction
    keys: dict[str, list[str]]


class Resolver:
    def __init__(
        self, settings: Settings, sink: RecordSink, identity: Identity, clock: Clock = utc_now
    ) -> None:
        self._sink = sink
        self._identity = identity
        self._clock = clock
        self._accepted_topic = settings.topic(topics.INTERACTIONS_ACCEPTED)
        self._dlq_topic = settings.topic(topics.INTERACTIONS_DLQ)
        self._wait_minutes = settings.identity.wait_minutes
        self._max_waiting = settings.identity.max_waiting_per_partition
        self._min_wait = timedelta(seconds=settings.identity.min_wait_seconds)
        self._room: WaitingRoom[tuple[str, int], _Pending] = WaitingRoom(
            max_wait=timedelta(minutes=self._wait_minutes), max_per_partition=self._max_waiting
        )
        self._waiting_at: set[Position] = set()
        # The agent's batches and the re-check timer take turns.
        self._lock = asyncio.Lock()

    @property
    def waiting(self) -> int:
        return len(self._room)

    async def handle(self, records: Sequence[UnresolvedRecord]) -> list[UnresolvedRecord]:
        """Route what can be routed; return the records settled by this call.

        Settled means published to the internal topic or the dead-letter topic and
        acknowledged by the broker, this batch's records or earlier waiting ones. Records
        not returned are waiting for their profile and must stay unacknowledged. Called
        without records (by the timer), it looks every waiting record up again.
        """
        async with self._lock:
            now = self._clock()
            # Faust delivers records again after a rebalance; those still waiting are the
            # waiting room's to settle, not this batch's.
            fresh = [record for record in records if record.position not in self._waiting_at]
            parsed = [(record, _parse(record)) for record in fresh]
            pending = [
                _Pending(record, event, lookup_keys(event.customer, self._identity.keyring))
                for record, event in parsed
                if event is not None
            ]
            asked, owners = await self._owners_for([*pending, *self._to_look_up_again(records)])

            def is_ready(item: _Pending) -> bool:
                # Only when every identifier of the event was asked about: the first kind
                # that resolves decides, and a kind not asked about might come first.
                every = {key for candidates in item.keys.values() for key in candidates}
                return every <= asked and resolve(item.keys, owners) is not None

            acks: list[Awaitable[Any]] = []
            settled: list[UnresolvedRecord] = []
            released = self._room.release(is_ready)
            try:
                for ready in released:
                    acks.append(await self._route(ready, owners))
                    settled.append(ready.unresolved)
            except BaseException:
                self._wait_again(released)
                raise
            for record, event in parsed:
                if event is None:
                    acks.append(await self._foreign(record, now))
                    settled.append(record)
            for item in pending:
                partition = item.unresolved.position[:2]
                occurred = min(item.event.occurred_at, item.unresolved.received_at)
                if resolve(item.keys, owners) is None:
                    self._waiting_at.add(item.unresolved.position)
                    # Waiting counts from ingest's receipt, also for a record delivered again.
                    self._room.add(partition, item, occurred, item.unresolved.received_at)
                    continue
                self._room.observe(partition, occurred)
                acks.append(await self._route(item, owners))
                settled.append(item.unresolved)
            for item, bound in self._room.expired(received_before=now - self._min_wait, now=now):
                rejection = self._gave_up(item, bound)
                acks.append(await self._dead_letter(item.unresolved.source, rejection, now))
                settled.append(item.unresolved)
                self._waiting_at.discard(item.unresolved.position)
            try:
                await asyncio.gather(*acks)
            except BaseException:
                # Not known to be on the broker: routed again on the next look-up (a copy
                # that did arrive is a duplicate, which the history drops by event id).
                self._wait_again(released)
                raise
            for ready in released:
                self._waiting_at.discard(ready.unresolved.position)
            metrics.IDENTITY_WAITING.set(len(self._room))
            return settled

    def _wait_again(self, released: Sequence[_Pending]) -> None:
        """Put records released from the waiting room back, in their order, when routing
        them failed: they stay unacknowledged, and out of the room nothing would route them
        again (a redelivery of a position still marked waiting is left to the room)."""
        for item in released:
            occurred = min(item.event.occurred_at, item.unresolved.received_at)
            self._room.add(item.unresolved.position[:2], item, occurred, item.unresolved.received_at)

    def forget(self, is_assigned: Callable[[str, int], bool]) -> None:
        """Drop waiting records of partitions this worker no longer owns: their new owner
        reads them again from the committed offset."""
        for item in self._room.forget(lambda partition: is_assigned(*partition)):
            self._waiting_at.discard(item.unresolved.position)
        metrics.IDENTITY_WAITING.set(len(self._room))

    def _to_look_up_again(self, records: Sequence[UnresolvedRecord]) -> list[_Pending]:
        """Every waiting record on the timer's call (no records); else those delivered again."""
        if not records:
            return list(self._room)
        again = {record.position for record in records} & self._waiting_at
        return [item for item in self._room if item.unresolved.position in again]

    async def _owners_for(self, items: Sequence[_Pending]) -> tuple[set[str], dict[str, str]]:
        """The keys asked about, and which of them some customer holds."""
        keys = sorted({key for item in items for candidates in item.keys.values() for key in candidates})
        return set(keys), (await self._identity.owners(keys) if keys else {})

    async def _route(self, item: _Pending, owners: dict[str, str]) -> Awaitable[Any]:
        found = resolve(item.keys, owners)
        if found is None:
            raise AssertionError("routed an unresolved event")
        kind, named = found
        metrics.labelled(metrics.IDENTITY_RESOLVED, kind).inc()
        source = item.unresolved.source
        received_at = item.unresolved.received_at
        customer_id, headers = route_headers(source, named, received_at, self._identity)
        assert source.value is not None
        ack = await self._sink.send(self._accepted_topic, customer_id.encode(), source.value, headers)
        copy = party_copy(source, item.event, received_at, customer_id, self._identity)
        if copy is None:
            return ack
        # The company's copy (on_behalf_of), now that the one who acted is known.
        key, party_headers = copy
        company_ack = await self._sink.send(self._accepted_topic, key, source.value, party_headers)
        return asyncio.gather(ack, company_ack)

    def _gave_up(self, item: _Pending, bound: Bound) -> Rejection:
        kinds = ", ".join(item.keys)
        if bound == "time":
            why = f"within {self._wait_minutes:g} minutes of event time"
        else:
            why = (
                f"before {self._max_waiting} later unresolved events of its partition were "
                "waiting too (HUB_IDENTITY__MAX_WAITING_PER_PARTITION)"
            )
        return Rejection(
            "unknown_customer", f"no customer_id, and no customer profile listed its {kinds} {why}"
        )

    async def _foreign(self, record: UnresolvedRecord, now: datetime) -> Awaitable[Any]:
        # Only ingest writes the internal topic: a record that is not a valid interaction
        # was written by something else, and must not stop the stream.
        reason = "schema: not a valid interaction on the internal topic of unresolved events"
        return await self._dead_letter(
            record.source, Rejection("schema", reason.removeprefix("schema: ")), now
        )

    async def _dead_letter(self, source: SourceRecord, rejection: Rejection, now: datetime) -> Awaitable[Any]:
        return await dead_letter(
            self._sink, self._dlq_topic, source, category=rejection.category, reason=rejection.reason, now=now
        )


def _parse(record: UnresolvedRecord) -> Interaction | None:
    """The event, unless the record is not one ingest would have written here."""
    value = record.source.value
    try:
        event = parse_interaction(value) if value is not None else None
    except ValidationError:
        return None
    return event if event is not None and event.customer.customer_id is None else None
