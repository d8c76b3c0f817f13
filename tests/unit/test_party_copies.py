"""An event done for a company (interaction v2 on_behalf_of) goes to two partitions: the
one who acted's, and a copy keyed by the company, once the one who acted is known."""

import json

from hub.dead_letter import SourceRecord
from hub.ingest import HEADER_CUSTOMER, HEADER_PARTY, HEADER_TOPIC
from tests.factories import raw
from tests.unit.identity_harness import PHONE, Harness, by_phone


def _for_company(h: Harness, offset: int, customer: dict[str, object], company: str = "K1") -> SourceRecord:
    record = h.channel_record(offset, customer)
    value = json.loads(record.value or b"")
    value.update(schema_version=2, on_behalf_of=company)
    return SourceRecord(record.topic, record.partition, record.offset, record.key, raw(value))


async def test_a_named_customer_acting_for_a_company_sends_a_copy_keyed_by_the_company() -> None:
    h = Harness()
    record = _for_company(h, 3, {"customer_id": "C1"})
    await h.ingestor.handle([record])
    [copy, own] = h.sent_to(h.accepted)
    assert (own[1], own[2], own[3][HEADER_CUSTOMER]) == (b"C1", record.value, b"C1")
    assert HEADER_PARTY not in own[3]
    assert (copy[1], copy[2]) == (b"K1", record.value)
    assert copy[3][HEADER_CUSTOMER] == b"C1" and copy[3][HEADER_PARTY] == b"K1"
    assert copy[3][HEADER_TOPIC] == h.phone_topic.encode()


async def test_the_copy_goes_to_the_company_that_survived_its_merges() -> None:
    h = Harness()
    h.merges["K-OLD"] = "K-NEW"
    await h.ingestor.handle([_for_company(h, 0, {"customer_id": "C1"}, company="K-OLD")])
    assert [sent[1] for sent in h.sent_to(h.accepted)] == [b"K-NEW", b"C1"]


async def test_events_of_version_1_and_for_oneself_make_no_copy() -> None:
    h = Harness()
    plain = h.channel_record(0, {"customer_id": "C1"})
    oneself = _for_company(h, 1, {"customer_id": "C1"}, company="C1")
    await h.ingestor.handle([plain, oneself])
    assert [sent[1] for sent in h.sent_to(h.accepted)] == [b"C1", b"C1"]


async def test_an_event_named_by_identifier_gets_its_copy_when_resolved() -> None:
    h = Harness()
    await h.ingestor.handle([_for_company(h, 42, by_phone())])
    [sent] = h.sink.sent  # only to the resolve stage: who acted is not known yet
    assert sent[0] == h.unresolved
    h.sink.sent.clear()
    h.learn("phone", PHONE, "C7")
    record = h.as_unresolved(sent, partition=2, offset=7)
    assert await h.resolver.handle([record]) == [record]
    own, copy = h.sent_to(h.accepted)
    assert (own[1], copy[1]) == (b"C7", b"K1")
    assert copy[3][HEADER_CUSTOMER] == b"C7" and copy[3][HEADER_PARTY] == b"K1"
