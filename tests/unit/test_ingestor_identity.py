"""The ingestor's identity resolution, with an in-memory sink and a fake identifier index."""

import asyncio
import json
import re
from collections.abc import Awaitable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from hub.core.pii import Keyring
from hub.dead_letter import SourceRecord
from hub.ingest import HEADER_CUSTOMER, Identity, Ingestor
from hub.settings import Settings
from schemas import topics
from tests.factories import NOW, envelope, raw

PHONE = "13977774321"
CARD = "4000567856785678"
CLOCK_NOW = NOW + timedelta(hours=1)


class MemorySink:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes, Mapping[str, bytes]]] = []

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
        identity = Identity(keyring=self.keyring, owners=self.owners, merged_into=self.merges.get)
        self.ingestor = Ingestor(self.settings, self.sink, identity, clock=lambda: CLOCK_NOW)
        self.accepted = self.settings.topic(topics.INTERACTIONS_ACCEPTED)
        self.dlq = self.settings.topic(topics.INTERACTIONS_DLQ)

    def learn(self, kind: str, value: str, customer_id: str) -> None:
        self.owners.known[self.keyring.current.digest(kind, value)] = customer_id

    def record(
        self, offset: int, customer: dict[str, Any], *, partition: int = 0, at: datetime = NOW
    ) -> SourceRecord:
        value = raw(
            envelope(
                "phone",
                "call",
                event_id=f"e-{partition}-{offset}",
                customer=customer,
                occurred_at=at.isoformat(),
            )
        )
        return SourceRecord(
            self.settings.topic(topics.INTERACTIONS_PHONE), partition, offset, b"src-key", value
        )

    def sent_to(self, topic: str) -> list[tuple[str, bytes | None, bytes, Mapping[str, bytes]]]:
        return [sent for sent in self.sink.sent if sent[0] == topic]

    def dead_letters(self) -> list[dict[str, Any]]:
        return [json.loads(value) for _, _, value, _ in self.sent_to(self.dlq)]


def by_phone(phone: str = PHONE) -> dict[str, Any]:
    return {"customer_id": None, "phone": phone}


def by_card(card: str = CARD) -> dict[str, Any]:
    return {"customer_id": None, "card_no": card}


async def test_an_event_named_only_by_a_known_phone_is_routed_to_its_customer() -> None:
    h = Harness()
    h.learn("phone", PHONE, "C7")
    record = h.record(0, by_phone())
    assert await h.ingestor.handle([record]) == [record]
    [(topic, key, value, headers)] = h.sink.sent
    assert topic == h.accepted
    assert key == b"C7"
    assert value == record.value
    assert headers[HEADER_CUSTOMER] == b"C7"
    assert h.ingestor.waiting == 0


async def test_an_unknown_identifier_waits_unsettled_and_nothing_is_sent() -> None:
    h = Harness()
    record = h.record(0, by_phone())
    assert await h.ingestor.handle([record]) == []
    assert h.sink.sent == []
    assert h.ingestor.waiting == 1


async def test_a_waiting_event_is_released_once_its_profile_is_known() -> None:
    h = Harness()
    record = h.record(0, by_phone())
    await h.ingestor.handle([record])
    assert await h.ingestor.handle([]) == []
    h.learn("phone", PHONE, "C7")
    assert await h.ingestor.handle([]) == [record]
    [(topic, key, value, headers)] = h.sink.sent
    assert (topic, key, headers[HEADER_CUSTOMER]) == (h.accepted, b"C7", b"C7")
    assert value == record.value, "the original bytes travel unchanged"
    assert h.ingestor.waiting == 0
    assert await h.ingestor.handle([]) == []
    assert len(h.sink.sent) == 1


async def test_waiting_events_of_one_partition_are_released_in_order() -> None:
    h = Harness()
    first = h.record(0, by_phone())
    second = h.record(1, by_card())
    await h.ingestor.handle([first])
    await h.ingestor.handle([second])
    h.learn("phone", PHONE, "C7")
    h.learn("card_no", CARD, "C8")
    assert await h.ingestor.handle([]) == [first, second]
    assert [(key, value) for _, key, value, _ in h.sink.sent] == [(b"C7", first.value), (b"C8", second.value)]


async def test_a_released_waiting_event_goes_before_a_new_one_with_the_same_identifier() -> None:
    h = Harness()
    waiting = h.record(0, by_phone())
    await h.ingestor.handle([waiting])
    h.learn("phone", PHONE, "C7")
    later = h.record(1, by_phone())
    assert await h.ingestor.handle([later]) == [waiting, later]
    assert [value for _, _, value, _ in h.sink.sent] == [waiting.value, later.value]


async def test_waiting_events_are_looked_up_again_by_the_timer_not_by_every_batch() -> None:
    h = Harness()
    waiting = h.record(0, by_phone())
    await h.ingestor.handle([waiting])
    h.learn("phone", PHONE, "C7")
    other = h.record(1, {"customer_id": "C1"})
    assert await h.ingestor.handle([other]) == [other]
    assert len(h.owners.calls) == 1, "a batch that needs no lookup makes none"
    assert await h.ingestor.handle([]) == [waiting]


async def test_an_event_waits_the_real_time_grace_before_the_event_time_bound_applies() -> None:
    h = Harness(identity={"min_wait_seconds": 60})
    waiting = h.record(0, by_phone())
    await h.ingestor.handle([waiting])
    later = h.record(1, {"customer_id": "C1"}, at=NOW + timedelta(minutes=16))
    assert await h.ingestor.handle([later]) == [later], "received just now: still waiting"
    assert h.ingestor.waiting == 1


async def test_an_identifier_stored_under_a_retired_key_resolves() -> None:
    h = Harness(pii_key_id="k2", pii_previous_keys={"k1": "the retired key of some length"})
    [retired] = h.keyring.previous
    h.owners.known[retired.digest("phone", PHONE)] = "C-OLD"
    record = h.record(0, by_phone())
    assert await h.ingestor.handle([record]) == [record]
    assert h.sink.sent[0][1] == b"C-OLD"
    assert sorted(h.owners.calls[0]) == sorted(h.keyring.lookup_keys("phone", PHONE))


async def test_an_event_of_a_merged_customer_goes_to_the_survivor() -> None:
    h = Harness()
    h.merges.update({"C-OLD": "C-MID", "C-MID": "C-NEW"})
    record = h.record(0, {"customer_id": "C-OLD"})
    assert await h.ingestor.handle([record]) == [record]
    [(_, key, value, headers)] = h.sink.sent
    assert key == b"C-NEW"
    assert headers[HEADER_CUSTOMER] == b"C-NEW"
    assert value == record.value


async def test_an_identifier_of_a_merged_customer_goes_to_the_survivor() -> None:
    h = Harness()
    h.merges["C-OLD"] = "C-NEW"
    h.learn("phone", PHONE, "C-OLD")
    await h.ingestor.handle([h.record(0, by_phone())])
    assert h.sink.sent[0][1] == b"C-NEW"


def assert_reason_names_no_identifier(reason: str, *values: str) -> None:
    for value in values:
        assert value not in reason
        assert value[-4:] not in reason


async def test_an_event_still_unknown_16_minutes_of_event_time_later_is_dead_lettered() -> None:
    h = Harness()
    waiting = h.record(0, by_phone())
    assert await h.ingestor.handle([waiting]) == []
    later = h.record(1, {"customer_id": "C1"}, at=NOW + timedelta(minutes=16))
    assert await h.ingestor.handle([later]) == [later, waiting]
    [dead] = h.dead_letters()
    assert h.sent_to(h.dlq)[0][1] == b"src-key"
    assert dead["offset"] == 0
    assert dead["reason"].startswith("unknown_customer: ")
    assert "phone" in dead["reason"]
    assert_reason_names_no_identifier(dead["reason"], PHONE)
    assert re.findall(r"\d+", dead["reason"]) == ["15"], "the only number is the wait in minutes"
    assert h.ingestor.waiting == 0
    h.learn("phone", PHONE, "C7")
    assert await h.ingestor.handle([]) == []
    assert len(h.sent_to(h.accepted)) == 1


async def test_the_time_bound_names_every_identifier_kind_and_no_value() -> None:
    h = Harness()
    both = {"customer_id": None, "card_no": CARD, "phone": PHONE}
    await h.ingestor.handle([h.record(0, both)])
    await h.ingestor.handle([h.record(1, {"customer_id": "C1"}, at=NOW + timedelta(minutes=16))])
    [dead] = h.dead_letters()
    assert "card_no" in dead["reason"]
    assert "phone" in dead["reason"]
    assert_reason_names_no_identifier(dead["reason"], PHONE, CARD)


async def test_another_partitions_later_events_do_not_expire_a_waiting_event() -> None:
    h = Harness()
    waiting = h.record(0, by_phone(), partition=0)
    await h.ingestor.handle([waiting])
    elsewhere = h.record(0, {"customer_id": "C1"}, partition=1, at=NOW + timedelta(minutes=30))
    assert await h.ingestor.handle([elsewhere]) == [elsewhere]
    assert h.dead_letters() == []
    assert h.ingestor.waiting == 1


async def test_the_memory_bound_dead_letters_the_oldest_waiting_event() -> None:
    h = Harness(identity={"max_waiting_per_partition": 2})
    records = [h.record(i, by_phone(f"1390000000{i}")) for i in range(3)]
    assert await h.ingestor.handle(records[:2]) == []
    assert await h.ingestor.handle(records[2:]) == [records[0]]
    [dead] = h.dead_letters()
    assert dead["offset"] == 0
    assert dead["reason"].startswith("unknown_customer: ")
    assert "phone" in dead["reason"]
    assert "MAX_WAITING_PER_PARTITION" in dead["reason"]
    assert_reason_names_no_identifier(dead["reason"], "13900000000")
    assert h.ingestor.waiting == 2
    assert h.sent_to(h.accepted) == []


async def test_a_retried_batch_keeps_a_waiting_event_waiting_once() -> None:
    h = Harness()
    record = h.record(0, by_phone())
    assert await h.ingestor.handle([record]) == []
    assert await h.ingestor.handle([record]) == []
    assert h.ingestor.waiting == 1
    h.learn("phone", PHONE, "C7")
    assert await h.ingestor.handle([]) == [record]
    assert len(h.sink.sent) == 1
    assert await h.ingestor.handle([]) == []
    assert len(h.sink.sent) == 1


async def test_a_retried_batch_arriving_after_resolution_sends_its_waiting_event_once() -> None:
    h = Harness()
    record = h.record(0, by_phone())
    assert await h.ingestor.handle([record]) == []
    h.learn("phone", PHONE, "C7")
    settled = await h.ingestor.handle([record])
    # The agent acknowledges each settled record once (``unsettled.pop``): a duplicate breaks it.
    assert (settled, len(h.sent_to(h.accepted))) == ([record], 1)


async def test_forget_drops_waiting_events_of_revoked_partitions_for_good() -> None:
    h = Harness()
    revoked = h.record(0, by_phone(), partition=0)
    kept = h.record(0, by_card(), partition=1)
    await h.ingestor.handle([revoked, kept])
    h.ingestor.forget(lambda topic, partition: partition == 1)
    assert h.ingestor.waiting == 1
    h.learn("phone", PHONE, "C7")
    h.learn("card_no", CARD, "C8")
    assert await h.ingestor.handle([]) == [kept]
    assert [key for _, key, _, _ in h.sink.sent] == [b"C8"]


async def test_forget_with_nothing_assigned_leaves_nothing_to_send() -> None:
    h = Harness()
    await h.ingestor.handle([h.record(0, by_phone())])
    h.ingestor.forget(lambda topic, partition: False)
    assert h.ingestor.waiting == 0
    h.learn("phone", PHONE, "C7")
    calls = len(h.owners.calls)
    assert await h.ingestor.handle([]) == []
    assert h.sink.sent == []
    assert len(h.owners.calls) == calls, "nothing left to look up"


async def test_a_record_seen_again_after_forget_waits_again() -> None:
    h = Harness()
    record = h.record(0, by_phone())
    await h.ingestor.handle([record])
    h.ingestor.forget(lambda topic, partition: False)
    assert await h.ingestor.handle([record]) == []
    assert h.ingestor.waiting == 1


async def test_owners_is_asked_once_per_call_with_every_key_needed() -> None:
    h = Harness()
    waiting = h.record(0, by_card())
    await h.ingestor.handle([waiting])
    assert h.owners.calls == [h.keyring.lookup_keys("card_no", CARD)]
    batch = [h.record(1, by_phone()), h.record(2, {"customer_id": "C1"}), h.record(3, by_phone())]
    await h.ingestor.handle(batch)
    assert len(h.owners.calls) == 2
    assert h.owners.calls[1] == sorted(h.keyring.lookup_keys("phone", PHONE)), "each key once"
    await h.ingestor.handle([])
    expected = {*h.keyring.lookup_keys("card_no", CARD), *h.keyring.lookup_keys("phone", PHONE)}
    assert set(h.owners.calls[2]) == expected, "the timer looks every waiting record up"


async def test_owners_is_not_asked_when_no_record_needs_a_lookup() -> None:
    h = Harness()
    await h.ingestor.handle([h.record(0, {"customer_id": "C1"}), h.record(1, {"customer_id": "C2"})])
    await h.ingestor.handle([])
    bad = SourceRecord(h.settings.topic(topics.INTERACTIONS_PHONE), 0, 2, None, b"not json")
    await h.ingestor.handle([bad])
    assert h.owners.calls == []
    assert len(h.sent_to(h.accepted)) == 2
    assert len(h.dead_letters()) == 1


async def test_an_invalid_record_is_settled_to_the_dlq_while_another_waits() -> None:
    h = Harness()
    bad = SourceRecord(h.settings.topic(topics.INTERACTIONS_PHONE), 0, 0, b"k", b"not json")
    waiting = h.record(1, by_phone())
    assert await h.ingestor.handle([bad, waiting]) == [bad]
    assert [d["offset"] for d in h.dead_letters()] == [0]
    assert h.ingestor.waiting == 1
