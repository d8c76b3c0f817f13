"""The resolve stage: events named only by channel identifiers, with an in-memory sink
and a fake identifier index."""

import asyncio
import re
from collections.abc import Awaitable, Mapping
from datetime import timedelta
from typing import Any

import pytest
from aiokafka.errors import KafkaError

from hub.ingest import (
    HEADER_CUSTOMER,
    HEADER_KEY,
    HEADER_OFFSET,
    HEADER_PARTITION,
    HEADER_RECEIVED_AT,
    HEADER_TOPIC,
)
from hub.resolve import UnresolvedRecord
from tests.factories import NOW
from tests.unit.identity_harness import (
    CARD,
    CLOCK_NOW,
    PHONE,
    RECEIVED_AT,
    SOURCE_OFFSET,
    SOURCE_PARTITION,
    Harness,
    MemorySink,
    by_card,
    by_phone,
)

OTHER_CARD = "4000111122223333"


def later_known(h: Harness, offset: int, *, partition: int = 0, minutes: float = 16) -> UnresolvedRecord:
    """An anonymous event ``minutes`` of event time later on the same unresolved partition,
    whose card is known: it is routed at once and moves the partition's clock forward."""
    h.learn("card_no", OTHER_CARD, "C1")
    return h.record(offset, by_card(OTHER_CARD), partition=partition, at=NOW + timedelta(minutes=minutes))


async def test_an_event_named_only_by_a_known_phone_is_routed_to_its_customer() -> None:
    h = Harness()
    h.learn("phone", PHONE, "C7")
    record = h.record(5, by_phone())
    assert await h.resolver.handle([record]) == [record]
    [(topic, key, value, headers)] = h.sink.sent
    assert topic == h.accepted
    assert key == b"C7"
    assert value == record.source.value, "the original bytes travel unchanged"
    assert headers[HEADER_CUSTOMER] == b"C7"
    assert headers[HEADER_TOPIC] == h.phone_topic.encode(), "the channel topic, not the unresolved one"
    assert headers[HEADER_PARTITION] == str(SOURCE_PARTITION).encode()
    assert headers[HEADER_OFFSET] == str(SOURCE_OFFSET + 5).encode()
    assert headers[HEADER_KEY] == b"src-5"
    assert headers[HEADER_RECEIVED_AT] == RECEIVED_AT.isoformat().encode(), "ingest's receipt, kept"
    assert h.resolver.waiting == 0


async def test_an_unknown_identifier_waits_unsettled_and_nothing_is_sent() -> None:
    h = Harness()
    record = h.record(0, by_phone())
    assert await h.resolver.handle([record]) == []
    assert h.sink.sent == []
    assert h.resolver.waiting == 1


async def test_a_waiting_event_is_released_once_its_profile_is_known() -> None:
    h = Harness()
    record = h.record(0, by_phone())
    await h.resolver.handle([record])
    assert await h.resolver.handle([]) == []
    h.learn("phone", PHONE, "C7")
    assert await h.resolver.handle([]) == [record]
    [(topic, key, value, headers)] = h.sink.sent
    assert (topic, key, headers[HEADER_CUSTOMER]) == (h.accepted, b"C7", b"C7")
    assert value == record.source.value, "the original bytes travel unchanged"
    assert headers[HEADER_OFFSET] == str(SOURCE_OFFSET).encode()
    assert h.resolver.waiting == 0
    assert await h.resolver.handle([]) == []
    assert len(h.sink.sent) == 1


async def test_waiting_events_of_one_partition_are_released_in_order() -> None:
    h = Harness()
    first = h.record(0, by_phone())
    second = h.record(1, by_card())
    await h.resolver.handle([first])
    await h.resolver.handle([second])
    h.learn("phone", PHONE, "C7")
    h.learn("card_no", CARD, "C8")
    assert await h.resolver.handle([]) == [first, second]
    assert [(key, value) for _, key, value, _ in h.sink.sent] == [
        (b"C7", first.source.value),
        (b"C8", second.source.value),
    ]


async def test_a_released_waiting_event_goes_before_a_new_one_with_the_same_identifier() -> None:
    h = Harness()
    waiting = h.record(0, by_phone())
    await h.resolver.handle([waiting])
    h.learn("phone", PHONE, "C7")
    later = h.record(1, by_phone())
    assert await h.resolver.handle([later]) == [waiting, later]
    assert [value for _, _, value, _ in h.sink.sent] == [waiting.source.value, later.source.value]


async def test_waiting_events_are_looked_up_again_by_the_timer_not_by_every_batch() -> None:
    h = Harness()
    waiting = h.record(0, by_phone())
    await h.resolver.handle([waiting])
    h.learn("phone", PHONE, "C7")
    h.learn("card_no", CARD, "C8")
    other = h.record(1, by_card())
    assert await h.resolver.handle([other]) == [other]
    assert h.owners.calls[1] == sorted(h.keyring.lookup_keys("card_no", CARD)), "the batch's keys only"
    assert h.resolver.waiting == 1
    assert await h.resolver.handle([]) == [waiting]
    assert [key for _, key, _, _ in h.sink.sent] == [b"C8", b"C7"]


async def test_a_waiting_event_released_by_a_batch_honours_identifier_precedence() -> None:
    """A waiting event naming a card and a phone belongs to the card's customer (account,
    card, phone, web login), whichever call releases it. A batch looks up only its own
    records' keys, so the waiting event is judged by its phone alone and goes to C7."""
    h = Harness()
    both = h.record(0, {"customer_id": None, "card_no": CARD, "phone": PHONE})
    await h.resolver.handle([both])
    h.learn("card_no", CARD, "C8")
    h.learn("phone", PHONE, "C7")
    later = h.record(1, by_phone())
    await h.resolver.handle([later])
    released = [key for _, key, value, _ in h.sink.sent if value == both.source.value]
    assert released in ([], [b"C8"]), "released to the card's customer, or not by this batch"


async def test_an_event_waits_the_real_time_grace_before_the_event_time_bound_applies() -> None:
    h = Harness(identity={"min_wait_seconds": 60})
    waiting = h.record(0, by_phone())
    await h.resolver.handle([waiting])
    later = later_known(h, 1)
    assert await h.resolver.handle([later]) == [later], "received just now: still waiting"
    assert h.resolver.waiting == 1
    h.now = CLOCK_NOW + timedelta(seconds=61)
    assert await h.resolver.handle([]) == [waiting], "the grace is over: the event-time bound applies"
    assert len(h.dead_letters()) == 1


async def test_an_identifier_stored_under_a_retired_key_resolves() -> None:
    h = Harness(pii_key_id="k2", pii_previous_keys={"k1": "the retired key of some length"})
    [retired] = h.keyring.previous
    h.owners.known[retired.digest("phone", PHONE)] = "C-OLD"
    record = h.record(0, by_phone())
    assert await h.resolver.handle([record]) == [record]
    assert h.sink.sent[0][1] == b"C-OLD"
    assert sorted(h.owners.calls[0]) == sorted(h.keyring.lookup_keys("phone", PHONE))


async def test_an_identifier_of_a_merged_customer_goes_to_the_survivor() -> None:
    h = Harness()
    h.merges.update({"C-OLD": "C-MID", "C-MID": "C-NEW"})
    h.learn("phone", PHONE, "C-OLD")
    record = h.record(0, by_phone())
    assert await h.resolver.handle([record]) == [record]
    [(_, key, value, headers)] = h.sink.sent
    assert key == b"C-NEW"
    assert headers[HEADER_CUSTOMER] == b"C-NEW"
    assert value == record.source.value


def assert_reason_names_no_identifier(reason: str, *values: str) -> None:
    for value in values:
        assert value not in reason
        assert value[-4:] not in reason


async def test_an_event_still_unknown_16_minutes_of_event_time_later_is_dead_lettered() -> None:
    h = Harness()
    waiting = h.record(4, by_phone())
    assert await h.resolver.handle([waiting]) == []
    later = later_known(h, 5)
    assert await h.resolver.handle([later]) == [later, waiting]
    [(_, key, _, _)] = h.sent_to(h.dlq)
    [dead] = h.dead_letters()
    assert key == b"src-4", "the channel record's key"
    assert (dead["topic"], dead["partition"], dead["offset"]) == (
        h.phone_topic,
        SOURCE_PARTITION,
        SOURCE_OFFSET + 4,
    ), "where the channel record is, not where it waited"
    assert dead["raw"].encode() == waiting.source.value
    assert dead["reason"].startswith("unknown_customer: ")
    assert "phone" in dead["reason"]
    assert_reason_names_no_identifier(dead["reason"], PHONE)
    assert re.findall(r"\d+", dead["reason"]) == ["15"], "the only number is the wait in minutes"
    assert h.resolver.waiting == 0
    h.learn("phone", PHONE, "C7")
    assert await h.resolver.handle([]) == []
    assert len(h.sent_to(h.accepted)) == 1


async def test_a_later_unresolvable_event_moves_the_partitions_clock_too() -> None:
    h = Harness()
    waiting = h.record(0, by_phone())
    await h.resolver.handle([waiting])
    later = h.record(1, by_card(), at=NOW + timedelta(minutes=16))
    assert await h.resolver.handle([later]) == [waiting]
    assert h.resolver.waiting == 1, "the later one waits in turn"
    assert [dead["offset"] for dead in h.dead_letters()] == [SOURCE_OFFSET]


async def test_the_time_bound_names_every_identifier_kind_and_no_value() -> None:
    h = Harness()
    both = {"customer_id": None, "card_no": CARD, "phone": PHONE}
    await h.resolver.handle([h.record(0, both)])
    await h.resolver.handle([later_known(h, 1)])
    [dead] = h.dead_letters()
    assert "card_no" in dead["reason"]
    assert "phone" in dead["reason"]
    assert_reason_names_no_identifier(dead["reason"], PHONE, CARD)


async def test_another_partitions_later_events_do_not_expire_a_waiting_event() -> None:
    h = Harness()
    waiting = h.record(0, by_phone(), partition=0)
    await h.resolver.handle([waiting])
    elsewhere = later_known(h, 0, partition=1, minutes=30)
    assert await h.resolver.handle([elsewhere]) == [elsewhere]
    assert h.dead_letters() == []
    assert h.resolver.waiting == 1


async def test_a_quiet_partitions_waiting_event_expires_after_the_wait_in_real_time() -> None:
    h = Harness()
    waiting = h.record(0, by_phone())
    await h.resolver.handle([waiting])
    h.now = CLOCK_NOW + timedelta(minutes=14)
    assert await h.resolver.handle([]) == [], "no later event: event time stands still"
    assert h.resolver.waiting == 1
    h.now = CLOCK_NOW + timedelta(minutes=h.settings.identity.wait_minutes)
    assert await h.resolver.handle([]) == [waiting]
    [dead] = h.dead_letters()
    assert dead["reason"].startswith("unknown_customer: ")
    assert (dead["topic"], dead["offset"]) == (h.phone_topic, SOURCE_OFFSET)
    assert h.resolver.waiting == 0
    assert h.sent_to(h.accepted) == []


async def test_the_memory_bound_dead_letters_the_oldest_waiting_event() -> None:
    h = Harness(identity={"max_waiting_per_partition": 2})
    records = [h.record(i, by_phone(f"1390000000{i}")) for i in range(3)]
    assert await h.resolver.handle(records[:2]) == []
    assert await h.resolver.handle(records[2:]) == [records[0]]
    [dead] = h.dead_letters()
    assert dead["offset"] == SOURCE_OFFSET
    assert dead["reason"].startswith("unknown_customer: ")
    assert "phone" in dead["reason"]
    assert "MAX_WAITING_PER_PARTITION" in dead["reason"]
    assert_reason_names_no_identifier(dead["reason"], "13900000000")
    assert h.resolver.waiting == 2
    assert h.sent_to(h.accepted) == []


async def test_the_memory_bound_counts_per_unresolved_partition() -> None:
    h = Harness(identity={"max_waiting_per_partition": 2})
    records = [h.record(i, by_phone(f"1390000000{i}"), partition=i) for i in range(3)]
    assert await h.resolver.handle(records) == []
    assert h.resolver.waiting == 3


async def test_a_retried_batch_keeps_a_waiting_event_waiting_once() -> None:
    h = Harness()
    record = h.record(0, by_phone())
    assert await h.resolver.handle([record]) == []
    assert await h.resolver.handle([record]) == []
    assert h.resolver.waiting == 1
    h.learn("phone", PHONE, "C7")
    assert await h.resolver.handle([]) == [record]
    assert len(h.sink.sent) == 1
    assert await h.resolver.handle([]) == []
    assert len(h.sink.sent) == 1


async def test_a_retried_batch_arriving_after_resolution_sends_its_waiting_event_once() -> None:
    h = Harness()
    record = h.record(0, by_phone())
    assert await h.resolver.handle([record]) == []
    h.learn("phone", PHONE, "C7")
    settled = await h.resolver.handle([record])
    # The agent acknowledges each settled record once (``unsettled.pop``): a duplicate breaks it.
    assert (settled, len(h.sent_to(h.accepted))) == ([record], 1)


async def test_forget_drops_waiting_events_of_revoked_partitions_for_good() -> None:
    h = Harness()
    revoked = h.record(0, by_phone(), partition=0)
    kept = h.record(0, by_card(), partition=1)
    await h.resolver.handle([revoked, kept])
    asked: list[tuple[str, int]] = []

    def is_assigned(topic: str, partition: int) -> bool:
        asked.append((topic, partition))
        return partition == 1

    h.resolver.forget(is_assigned)
    assert sorted(asked) == [(h.unresolved, 0), (h.unresolved, 1)], "the unresolved topic's partitions"
    assert h.resolver.waiting == 1
    h.learn("phone", PHONE, "C7")
    h.learn("card_no", CARD, "C8")
    assert await h.resolver.handle([]) == [kept]
    assert [key for _, key, _, _ in h.sink.sent] == [b"C8"]


async def test_forget_with_nothing_assigned_leaves_nothing_to_send() -> None:
    h = Harness()
    await h.resolver.handle([h.record(0, by_phone())])
    h.resolver.forget(lambda topic, partition: False)
    assert h.resolver.waiting == 0
    h.learn("phone", PHONE, "C7")
    calls = len(h.owners.calls)
    assert await h.resolver.handle([]) == []
    assert h.sink.sent == []
    assert len(h.owners.calls) == calls, "nothing left to look up"


async def test_a_record_seen_again_after_forget_waits_again() -> None:
    h = Harness()
    record = h.record(0, by_phone())
    await h.resolver.handle([record])
    h.resolver.forget(lambda topic, partition: False)
    assert await h.resolver.handle([record]) == []
    assert h.resolver.waiting == 1


async def test_owners_is_asked_once_per_call_with_every_key_needed() -> None:
    h = Harness()
    waiting = h.record(0, by_card())
    await h.resolver.handle([waiting])
    assert h.owners.calls == [h.keyring.lookup_keys("card_no", CARD)]
    batch = [h.record(1, by_phone()), h.foreign(2, b"not json"), h.record(3, by_phone())]
    await h.resolver.handle(batch)
    assert len(h.owners.calls) == 2
    assert h.owners.calls[1] == sorted(h.keyring.lookup_keys("phone", PHONE)), "each key once"
    await h.resolver.handle([])
    expected = {*h.keyring.lookup_keys("card_no", CARD), *h.keyring.lookup_keys("phone", PHONE)}
    assert set(h.owners.calls[2]) == expected, "the timer looks every waiting record up"


async def test_owners_is_not_asked_when_no_record_needs_a_lookup() -> None:
    h = Harness()
    await h.resolver.handle([])
    await h.resolver.handle([h.foreign(0, b"not json"), h.foreign(1, None)])
    assert h.owners.calls == []
    assert len(h.dead_letters()) == 2
    assert h.sent_to(h.accepted) == []


async def test_an_invalid_record_is_settled_to_the_dlq_while_another_waits() -> None:
    h = Harness()
    bad = h.foreign(0, b"not json")
    waiting = h.record(1, by_phone())
    assert await h.resolver.handle([bad, waiting]) == [bad]
    [(_, key, _, _)] = h.sent_to(h.dlq)
    [dead] = h.dead_letters()
    assert key == b"k"
    assert (dead["topic"], dead["partition"], dead["offset"]) == (h.unresolved, 0, 0)
    assert dead["reason"].startswith("schema: ")
    assert dead["raw"] == "not json"
    assert h.resolver.waiting == 1


async def test_an_event_from_ingest_keeps_its_channel_record_through_resolve() -> None:
    h = Harness()
    channel = h.channel_record(42, by_phone())
    await h.ingestor.handle([channel])
    [sent] = h.sink.sent
    h.sink.sent.clear()
    record = h.as_unresolved(sent, partition=2, offset=7)
    h.learn("phone", PHONE, "C7")
    assert await h.resolver.handle([record]) == [record]
    [(topic, key, value, headers)] = h.sink.sent
    assert (topic, key, value) == (h.accepted, b"C7", channel.value)
    assert headers[HEADER_TOPIC] == h.phone_topic.encode()
    assert headers[HEADER_PARTITION] == str(SOURCE_PARTITION).encode()
    assert headers[HEADER_OFFSET] == b"42"
    assert headers[HEADER_KEY] == b"src-key"
    assert headers[HEADER_RECEIVED_AT] == CLOCK_NOW.isoformat().encode()


async def test_the_timer_releases_a_waiting_event_by_identifier_precedence() -> None:
    h = Harness()
    both = h.record(0, {"customer_id": None, "card_no": CARD, "phone": PHONE})
    await h.resolver.handle([both])
    h.learn("card_no", CARD, "C8")
    h.learn("phone", PHONE, "C7")
    assert await h.resolver.handle([]) == [both]
    assert [key for _, key, _, _ in h.sink.sent] == [b"C8"]


class FailingOnce(MemorySink):
    """A sink whose first send raises, or whose first acknowledgement fails."""

    def __init__(self, *, at: str) -> None:
        super().__init__()
        self.at = at
        self.failed = False

    async def send(
        self, topic: str, key: bytes | None, value: bytes, headers: Mapping[str, bytes] | None = None
    ) -> Awaitable[Any]:
        if self.failed:
            return await super().send(topic, key, value, headers)
        self.failed = True
        if self.at == "send":
            raise KafkaError("producer closed")
        await super().send(topic, key, value, headers)
        lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        lost.set_exception(KafkaError("broker went away before acknowledging"))
        return lost


@pytest.mark.parametrize("at", ["send", "acknowledgement"])
async def test_a_released_event_whose_routing_fails_waits_again_and_is_routed_on_the_next_look_up(
    at: str,
) -> None:
    h = Harness()
    h.sink = h.resolver._sink = FailingOnce(at=at)
    record = h.record(0, by_phone())
    await h.resolver.handle([record])
    h.learn("phone", PHONE, "C7")
    with pytest.raises(KafkaError):
        await h.resolver.handle([])
    assert h.resolver.waiting == 1, "back in the waiting room, still unsettled"
    assert await h.resolver.handle([]) == [record]
    assert h.resolver.waiting == 0
    assert [value for _, _, value, _ in h.sink.sent][-1] == record.source.value
