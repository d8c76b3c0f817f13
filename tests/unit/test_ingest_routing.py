"""Ingest routes every channel record: bad ones to the DLQ, events naming their customer to
the accepted topic, events named only by identifiers to the resolve stage."""

import json
from datetime import timedelta
from typing import Any

import pytest

from hub.dead_letter import SourceRecord
from hub.ingest import (
    HEADER_CUSTOMER,
    HEADER_KEY,
    HEADER_OFFSET,
    HEADER_PARTITION,
    HEADER_RECEIVED_AT,
    HEADER_TOPIC,
)
from tests.factories import NOW
from tests.unit.identity_harness import CARD, CLOCK_NOW, PHONE, SOURCE_PARTITION, Harness, by_phone


async def test_an_event_with_a_customer_id_goes_to_the_accepted_topic_keyed_by_it() -> None:
    h = Harness()
    record = h.channel_record(9, {"customer_id": "C1"})
    await h.ingestor.handle([record])
    [(topic, key, value, headers)] = h.sink.sent
    assert (topic, key, value) == (h.accepted, b"C1", record.value)
    assert headers[HEADER_CUSTOMER] == b"C1"
    assert headers[HEADER_TOPIC] == h.phone_topic.encode()
    assert headers[HEADER_PARTITION] == str(SOURCE_PARTITION).encode()
    assert headers[HEADER_OFFSET] == b"9"
    assert headers[HEADER_RECEIVED_AT] == CLOCK_NOW.isoformat().encode()
    assert h.owners.calls == []


async def test_a_customer_id_with_identifiers_too_goes_by_the_customer_id() -> None:
    h = Harness()
    await h.ingestor.handle([h.channel_record(0, {"customer_id": "C1", "phone": PHONE})])
    [(topic, key, _, _)] = h.sink.sent
    assert (topic, key) == (h.accepted, b"C1")
    assert h.owners.calls == []


async def test_an_event_of_a_merged_customer_goes_to_the_survivor() -> None:
    h = Harness()
    h.merges.update({"C-OLD": "C-MID", "C-MID": "C-NEW"})
    record = h.channel_record(0, {"customer_id": "C-OLD"})
    await h.ingestor.handle([record])
    [(topic, key, value, headers)] = h.sink.sent
    assert (topic, key) == (h.accepted, b"C-NEW")
    assert headers[HEADER_CUSTOMER] == b"C-NEW"
    assert value == record.value


@pytest.mark.parametrize(
    ("customer", "kind", "value"),
    [
        ({"phone": PHONE}, "phone", PHONE),
        ({"web_user": "li.wei", "phone": PHONE}, "phone", PHONE),
        ({"phone": PHONE, "card_no": CARD}, "card_no", CARD),
        (
            {"web_user": "li.wei", "card_no": CARD, "account_no": "6222000011112222"},
            "account_no",
            "6222000011112222",
        ),
        ({"web_user": "li.wei"}, "web_user", "li.wei"),
    ],
)
async def test_an_event_without_customer_id_goes_to_resolve_keyed_by_its_first_identifier(
    customer: dict[str, Any], kind: str, value: str
) -> None:
    h = Harness(pii_key_id="k2", pii_previous_keys={"k1": "the retired key of some length"})
    record = h.channel_record(11, {"customer_id": None, **customer})
    await h.ingestor.handle([record])
    [(topic, key, sent, headers)] = h.sink.sent
    assert topic == h.unresolved
    assert key == h.keyring.current.digest(kind, value).encode(), "the current key's digest"
    assert sent == record.value, "the original bytes travel unchanged"
    assert headers == {
        HEADER_TOPIC: h.phone_topic.encode(),
        HEADER_PARTITION: str(SOURCE_PARTITION).encode(),
        HEADER_OFFSET: b"11",
        HEADER_KEY: b"src-key",
        HEADER_RECEIVED_AT: CLOCK_NOW.isoformat().encode(),
    }
    assert h.owners.calls == [], "ingest looks nothing up"


async def test_a_known_identifier_still_goes_to_resolve() -> None:
    h = Harness()
    h.learn("phone", PHONE, "C7")
    await h.ingestor.handle([h.channel_record(0, by_phone())])
    [(topic, _, _, _)] = h.sink.sent
    assert topic == h.unresolved
    assert h.owners.calls == []


async def test_a_channel_record_without_key_has_no_key_header() -> None:
    h = Harness()
    await h.ingestor.handle([h.channel_record(0, by_phone(), key=None)])
    [(_, _, _, headers)] = h.sink.sent
    assert HEADER_KEY not in headers


async def test_events_of_one_identifier_share_the_unresolved_key() -> None:
    h = Harness()
    await h.ingestor.handle([h.channel_record(0, by_phone()), h.channel_record(1, by_phone("139 7777 4321"))])
    keys = {key for _, key, _, _ in h.sink.sent}
    assert len(keys) == 1


@pytest.mark.parametrize(
    ("value", "category"),
    [(b"not json", "invalid_json"), (None, "invalid_json"), (b"\xff\xfe", "invalid_json")],
)
async def test_a_bad_record_goes_to_the_dlq_under_its_key(value: bytes | None, category: str) -> None:
    h = Harness()
    bad = SourceRecord(h.phone_topic, 1, 5, b"k", value)
    await h.ingestor.handle([bad])
    [(topic, key, sent, headers)] = h.sink.sent
    dead = json.loads(sent)
    assert (topic, key) == (h.dlq, b"k")
    assert (dead["topic"], dead["partition"], dead["offset"]) == (h.phone_topic, 1, 5)
    # A consumer of the dead letters drops the repeats of a replay by these, unparsed.
    assert (headers[HEADER_TOPIC], headers[HEADER_PARTITION], headers[HEADER_OFFSET]) == (
        h.phone_topic.encode(),
        b"1",
        b"5",
    )
    assert dead["reason"].startswith(f"{category}: ")
    assert h.owners.calls == []


async def test_an_event_far_in_the_future_goes_to_the_dlq() -> None:
    h = Harness()
    await h.ingestor.handle([h.channel_record(0, by_phone(), at=CLOCK_NOW + timedelta(days=3))])
    [dead] = h.dead_letters()
    assert dead["reason"].startswith("future_event: ")
    assert h.sent_to(h.unresolved) == []


async def test_a_batch_routes_each_record_its_own_way_in_order() -> None:
    h = Harness()
    batch = [
        h.channel_record(0, {"customer_id": "C1"}),
        h.channel_record(1, by_phone(), at=NOW),
        SourceRecord(h.phone_topic, SOURCE_PARTITION, 2, None, b"not json"),
    ]
    await h.ingestor.handle(batch)
    assert [topic for topic, _, _, _ in h.sink.sent] == [h.accepted, h.unresolved, h.dlq]
    assert h.owners.calls == []
