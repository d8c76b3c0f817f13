"""Ingest: validate channel records, dead-letter the bad ones, re-key the good by customer.

An event that names its customer_id goes on to the history stage, keyed by the surviving
id of that customer (after merges). An event that names the customer only by channel
identifiers goes to the resolve stage (:mod:`hub.resolve`), keyed by the keyed hash of
its first identifier. Accepted records keep their original bytes: the customer they
belong to travels as the key and in a header, and where they came from in headers, so
the next stage validates each event once more without re-encoding it.

An event done for a company (``on_behalf_of``, interaction v2) concerns two customers,
each decided on the worker that owns that customer's state. So once the one who acted is
known (here, or in the resolve stage), a second copy goes to the internal topic of
accepted events keyed by the company, with the company in header ``hub-party-id``: the
company's partition records it in the company's history and decides it on the company's
state, as the other copy does for the one who acted (:mod:`hub.recorder`).
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hub import metrics
from hub.clock import Clock, utc_now
from hub.core.identity import lookup_keys, survivor
from hub.core.pii import Keyring
from hub.core.records import AcceptedRecord
from hub.core.validation import Rejection, decode_interaction
from hub.dead_letter import HEADER_OFFSET, HEADER_PARTITION, HEADER_TOPIC, SourceRecord, dead_letter
from hub.settings import Settings
from hub.sink import RecordSink
from schemas import topics
from schemas.headers import CUSTOMER_ID, PARTY_ID, RECEIVED_AT, SOURCE_KEY
from schemas.interaction import Interaction

HEADER_RECEIVED_AT = RECEIVED_AT
HEADER_KEY = SOURCE_KEY
HEADER_CUSTOMER = CUSTOMER_ID
HEADER_PARTY = PARTY_ID

Owners = Callable[[Sequence[str]], Awaitable[dict[str, str]]]
"""Which customer holds each identifier lookup key (PostgreSQL's identifier index)."""
MergedInto = Callable[[str], str | None]
"""The customer id a customer was merged into, if any (the profile table)."""


@dataclass(frozen=True, slots=True)
class Identity:
    """How the hub tells who an event is about."""

    keyring: Keyring
    owners: Owners
    merged_into: MergedInto


def source_headers(record: SourceRecord, received_at: datetime) -> dict[str, bytes]:
    """Where a record came from, for the internal topics."""
    headers = {HEADER_RECEIVED_AT: received_at.isoformat().encode(), **record.position_headers()}
    if record.key is not None:
        headers[HEADER_KEY] = record.key
    return headers


def read_source(message: Any) -> tuple[SourceRecord, datetime]:
    """The reverse of :func:`source_headers`, for a record of an internal topic: the channel
    record it carries and when ingest received it. A record without ingest's headers (or
    with odd ones) was written by something else and stands for itself."""
    headers = dict(message.headers or {})
    try:
        source = SourceRecord(
            headers[HEADER_TOPIC].decode(),
            int(headers[HEADER_PARTITION]),
            int(headers[HEADER_OFFSET]),
            headers.get(HEADER_KEY),
            message.value,
        )
        received = headers.get(HEADER_RECEIVED_AT)
        received_at = datetime.fromisoformat(received.decode()) if received else None
    except (KeyError, ValueError, UnicodeDecodeError):
        source, received_at = SourceRecord.of(message), None
    return source, received_at or datetime.fromtimestamp(message.timestamp).astimezone()


def route_headers(
    record: SourceRecord, named: str, received_at: datetime, identity: Identity
) -> tuple[str, dict[str, bytes]]:
    """The customer an event goes to (the survivor of ``named``'s merges) and its headers."""
    customer_id = surviving_customer(named, identity)
    return customer_id, accepted_headers(record, received_at, customer_id)


def surviving_customer(named: str, identity: Identity) -> str:
    """``named``, or the customer it was merged into (counted)."""
    customer_id = survivor(named, identity.merged_into)
    if customer_id != named:
        metrics.CUSTOMERS_MERGED.inc()
    return customer_id


def accepted_headers(record: SourceRecord, received_at: datetime, customer_id: str) -> dict[str, bytes]:
    """The headers of an event on the internal topic of accepted events."""
    return {**source_headers(record, received_at), HEADER_CUSTOMER: customer_id.encode()}


def party_copy(
    record: SourceRecord, event: Interaction, received_at: datetime, acting_id: str, identity: Identity
) -> tuple[bytes, dict[str, bytes]] | None:
    """The key and headers of the company's copy of an event done for it (``on_behalf_of``,
    the survivor of its merges), once the one who acted is known; None for other events."""
    if event.on_behalf_of is None:
        return None
    company_id = surviving_customer(event.on_behalf_of, identity)
    if company_id == acting_id:
        return None  # merged into one: one history, one copy
    headers = {**accepted_headers(record, received_at, acting_id), HEADER_PARTY: company_id.encode()}
    return company_id.encode(), headers


HomeCheck = Callable[[SourceRecord, str], bool]
"""True when a channel record already sits where its customer's state lives: keyed by the
customer id, on the partition the internal topic would give it."""


def never_home(record: SourceRecord, customer_id: str) -> bool:
    return False


@dataclass(slots=True)
class Routed:
    """Where a batch of channel records went."""

    home: list[AcceptedRecord] = field(default_factory=list)
    """Events to record in this worker without a second hop, validated once."""
    acks: list[Awaitable[Any]] = field(default_factory=list)
    """The broker's acknowledgements of what was sent on (dead letters, events to resolve)."""
    rekeyed: list[tuple[Awaitable[Any], datetime]] = field(default_factory=list)
    """The acknowledgements of events re-keyed onto the internal topic, with their event times."""
    passed: dict[tuple[str, int], datetime] = field(default_factory=dict)
    """(topic, partition) -> the latest event time among its valid records sent on."""

    def sent_on(self, record: SourceRecord, event: Interaction) -> None:
        source = (record.topic, record.partition)
        latest = self.passed.get(source)
        if latest is None or event.occurred_at > latest:
            self.passed[source] = event.occurred_at


class Ingestor:
    def __init__(
        self,
        settings: Settings,
        sink: RecordSink,
        identity: Identity,
        clock: Clock = utc_now,
        is_home: HomeCheck = never_home,
    ) -> None:
        self._sink = sink
        self._identity = identity
        self._clock = clock
        self._is_home = is_home
        self._tolerance = timedelta(hours=settings.future_tolerance_hours)
        self._channel_of = {settings.topic(t): ch for ch, t in topics.CHANNEL_TOPICS.items()}
        self._accepted_topic = settings.topic(topics.INTERACTIONS_ACCEPTED)
        self._unresolved_topic = settings.topic(topics.INTERACTIONS_UNRESOLVED)
        self._dlq_topic = settings.topic(topics.INTERACTIONS_DLQ)

    async def handle(self, records: Sequence[SourceRecord]) -> list[AcceptedRecord]:
        """Route every record; returns, once the broker acknowledged every output, the
        events that stay here."""
        routed = await self.route(records)
        await asyncio.gather(*routed.acks, *(ack for ack, _ in routed.rekeyed))
        return routed.home

    async def route(self, records: Sequence[SourceRecord]) -> Routed:
        """Validate and route every record; what is sent on is acknowledged in ``acks``."""
        now = self._clock()
        routed = Routed()
        for record in records:
            outcome = decode_interaction(
                record.value,
                topic_channel=self._channel_of[record.topic],
                now=now,
                future_tolerance=self._tolerance,
            )
            if isinstance(outcome, Rejection):
                routed.acks.append(await self._dead_letter(record, outcome, now))
                continue
            metrics.labelled(metrics.EVENTS_CONSUMED, outcome.channel, outcome.type).inc()
            await self._route(record, outcome, now, routed)
        return routed

    async def _route(self, record: SourceRecord, event: Interaction, now: datetime, routed: Routed) -> None:
        named = event.customer.customer_id
        value = record.value
        assert value is not None
        if named is None:
            # One identifier, one partition of the resolve stage: its events stay in order.
            first_kind_keys = next(iter(lookup_keys(event.customer, self._identity.keyring).values()))
            key = first_kind_keys[0].encode()
            routed.acks.append(
                await self._sink.send(self._unresolved_topic, key, value, source_headers(record, now))
            )
            routed.sent_on(record, event)
            return
        customer_id = surviving_customer(named, self._identity)
        copy = party_copy(record, event, now, customer_id, self._identity)
        if copy is not None:
            key, headers = copy
            ack = await self._sink.send(self._accepted_topic, key, value, headers)
            routed.rekeyed.append((ack, event.occurred_at))
            routed.sent_on(record, event)
        if self._is_home(record, customer_id):
            routed.home.append(
                AcceptedRecord(
                    value=value,
                    received_at=now,
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    shard=record.partition,
                    customer_id=customer_id,
                    event=event,
                    key=record.key,
                )
            )
            return
        headers = accepted_headers(record, now, customer_id)
        ack = await self._sink.send(self._accepted_topic, customer_id.encode(), value, headers)
        routed.rekeyed.append((ack, event.occurred_at))
        routed.sent_on(record, event)

    async def _dead_letter(self, record: SourceRecord, rejection: Rejection, now: datetime) -> Awaitable[Any]:
        return await dead_letter(
            self._sink, self._dlq_topic, record, category=rejection.category, reason=rejection.reason, now=now
        )
