"""An in-memory sink, a fake identifier index and a harness around ingest and resolve."""

import asyncio
import json
from collections.abc import Awaitable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from hub.core.pii import Keyring
from hub.dead_letter import SourceRecord
from hub.ingest import (
    HEADER_KEY,
    HEADER_OFFSET,
    HEADER_PARTITION,
    HEADER_RECEIVED_AT,
    HEADER_TOPIC,
    Identity,
    Ingestor,
)
from hub.resolve import Resolver, UnresolvedRecord
from hub.settings import Settings
from schemas import topics
from tests.factories import NOW, envelope, raw

PHONE = "13977774321"
CARD = "4000567856785678"
CLOCK_NOW = NOW + timedelta(hours=1)
RECEIVED_AT = CLOCK_NOW - timedelta(seconds=2)
"""When ingest received the channel records the resolver reads (a little before its clock)."""
SOURCE_PARTITION = 3
SOURCE_OFFSET = 1000
"""Channel records sit at another partition and offset than on the unresolved topic."""

Sent = tuple[str, bytes | None, bytes, Mapping[str, bytes]]


class MemorySink:
    def __init__(self) -> None:
        self.sent: list[Sent] = []

    async def send(
        self, topic: str, key: bytes | None, value: bytes, headers: Mapping[str, bytes] | None = None
    ) -> Awaitable[Any]:
        self.sent.append((topic, key, value, dict(headers or {})))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


class Owners:
    """The identifier index: lookup key -> customer id, a dict the test mutates."""

    def __init__(self) -> None:
        self.known: dict[str, str] = {}
        self.calls: list[list[str]] = []

    async def __call__(self, keys: Sequence[str]) -> dict[str, str]:
        self.calls.append(list(keys))
        return {key: self.known[key] for key in keys if key in self.known}


class Harness:
    def __init__(self, **settings: Any) -> None:
        # No real-time grace unless a test asks: the event-time bound alone decides.
        settings["identity"] = {"min_wait_seconds": 0, **settings.get("identity", {})}
        self.settings = Settings(
            kafka_bootstrap="x:9092",
            store="memory://",
            topic_prefix="t.",
            pii_key="a test key of some length",
            **settings,
        )
        self.keyring: Keyring = self.settings.require_pii_keyring()
        self.sink = MemorySink()
        self.owners = Owners()
        self.merges: dict[str, str] = {}
        self.now = CLOCK_NOW
        """The wall clock of both stages; tests move it forward."""
        identity = Identity(keyring=self.keyring, owners=self.owners, merged_into=self.merges.get)
        self.ingestor = Ingestor(self.settings, self.sink, identity, clock=lambda: self.now)
        self.resolver = Resolver(self.settings, self.sink, identity, clock=lambda: self.now)
        self.phone_topic = self.settings.topic(topics.INTERACTIONS_PHONE)
        self.accepted = self.settings.topic(topics.INTERACTIONS_ACCEPTED)
        self.unresolved = self.settings.topic(topics.INTERACTIONS_UNRESOLVED)
        self.dlq = self.settings.topic(topics.INTERACTIONS_DLQ)

    def learn(self, kind: str, value: str, customer_id: str) -> None:
        self.owners.known[self.keyring.current.digest(kind, value)] = customer_id

    def channel_record(
        self,
        offset: int,
        customer: dict[str, Any],
        *,
        partition: int = SOURCE_PARTITION,
        at: datetime = NOW,
        key: bytes | None = b"src-key",
    ) -> SourceRecord:
        """A record of the phone channel's topic, as ingest reads it."""
        value = raw(
            envelope(
                "phone",
                "call",
                event_id=f"e-{partition}-{offset}",
                customer=customer,
                occurred_at=at.isoformat(),
            )
        )
        return SourceRecord(self.phone_topic, partition, offset, key, value)

    def record(
        self,
        offset: int,
        customer: dict[str, Any],
        *,
        partition: int = 0,
        at: datetime = NOW,
        received_at: datetime = RECEIVED_AT,
    ) -> UnresolvedRecord:
        """A record of the unresolved topic at ``partition``/``offset``; its channel record
        sits at SOURCE_PARTITION, SOURCE_OFFSET + ``offset`` of the phone topic."""
        source = self.channel_record(SOURCE_OFFSET + offset, customer, at=at, key=f"src-{offset}".encode())
        return UnresolvedRecord((self.unresolved, partition, offset), source, received_at)

    def foreign(self, offset: int, value: bytes | None, *, partition: int = 0) -> UnresolvedRecord:
        """A record on the unresolved topic that ingest did not write (as the agent reads it)."""
        source = SourceRecord(self.unresolved, partition, offset, b"k", value)
        return UnresolvedRecord((self.unresolved, partition, offset), source, CLOCK_NOW)

    def as_unresolved(self, sent: Sent, *, partition: int, offset: int) -> UnresolvedRecord:
        """What the resolve agent reads from a record ingest sent to the unresolved topic."""
        topic, _, value, headers = sent
        assert topic == self.unresolved
        source = SourceRecord(
            headers[HEADER_TOPIC].decode(),
            int(headers[HEADER_PARTITION]),
            int(headers[HEADER_OFFSET]),
            headers.get(HEADER_KEY),
            value,
        )
        received_at = datetime.fromisoformat(headers[HEADER_RECEIVED_AT].decode())
        return UnresolvedRecord((self.unresolved, partition, offset), source, received_at)

    def sent_to(self, topic: str) -> list[Sent]:
        return [sent for sent in self.sink.sent if sent[0] == topic]

    def dead_letters(self) -> list[dict[str, Any]]:
        return [json.loads(value) for _, _, value, _ in self.sent_to(self.dlq)]


def by_phone(phone: str = PHONE) -> dict[str, Any]:
    return {"customer_id": None, "phone": phone}


def by_card(card: str = CARD) -> dict[str, Any]:
    return {"customer_id": None, "card_no": card}
