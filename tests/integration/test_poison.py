"""A record whose handling fails for good is isolated, dead-lettered as
``processing_error``, and the rest of its batch and partition flow on.

The contract's validation leaves little that PostgreSQL would refuse; the internal topic
is the way in: a record written there by some other producer, naming in its header a
customer id longer than PostgreSQL's b-tree takes (about 2.7 kB; random text does not
compress below that), passes everything until the contact history's index refuses it.
"""

import json
import random
import string
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer

from hub.ingest import HEADER_CUSTOMER
from schemas import topics
from schemas.rejected import RejectedRecord
from tests.factories import envelope
from tests.integration.harness import HubUnderTest, values, wait_for_rows

UNINDEXABLE = "".join(random.Random(7).choices(string.ascii_letters + string.digits, k=9000))


async def on_the_internal_topic(
    hub: HubUnderTest, records: list[tuple[bytes, list[tuple[str, bytes]]]]
) -> None:
    """(value, headers) onto partition 0 of the internal topic of accepted events."""
    producer = AIOKafkaProducer(bootstrap_servers=hub.bootstrap, acks="all")
    await producer.start()
    try:
        for value, headers in records:
            await producer.send(hub.topic(topics.INTERACTIONS_ACCEPTED), value, partition=0, headers=headers)
        await producer.flush()
    finally:
        await producer.stop()


async def test_a_poison_record_is_dead_lettered_and_its_partition_keeps_flowing(hub: HubUnderTest) -> None:
    run = hub.prefix.strip(".")
    now = datetime.now(UTC).replace(microsecond=0)
    poison = envelope(
        event_id=f"{run}-poison", occurred_at=now.isoformat(), customer={"customer_id": f"{run}-p"}
    )
    good = [
        envelope(
            event_id=f"{run}-good-{n}",
            occurred_at=(now - timedelta(seconds=n)).isoformat(),
            customer={"customer_id": f"{run}-c{n}"},
        )
        for n in range(6)
    ]
    batch = [(json.dumps(e).encode(), []) for e in good[:3]]
    batch.append((json.dumps(poison).encode(), [(HEADER_CUSTOMER, UNINDEXABLE.encode())]))
    batch += [(json.dumps(e).encode(), []) for e in good[3:]]
    await on_the_internal_topic(hub, batch)

    ids = [e["event_id"] for e in good]
    rows = await wait_for_rows(
        "SELECT event_id FROM interactions WHERE event_id = ANY($1)", ids, expect=len(ids)
    )
    assert sorted(r["event_id"] for r in rows) == sorted(ids)

    [dead] = values(await hub.consume(topics.INTERACTIONS_DLQ, expect=1, settle_s=1))
    rejected = RejectedRecord.model_validate(dead)
    assert rejected.reason.startswith("processing_error: StoreError"), rejected.reason
    assert json.loads(rejected.raw)["event_id"] == f"{run}-poison"
    whole_log = (hub.workdir / f"worker-{hub.starts}.log").read_text(errors="replace")
    assert UNINDEXABLE[:40] not in whole_log, "the record's content is not logged"

    # The partition flows on after it.
    later = envelope(
        event_id=f"{run}-later", occurred_at=now.isoformat(), customer={"customer_id": f"{run}-c9"}
    )
    await on_the_internal_topic(hub, [(json.dumps(later).encode(), [])])
    await wait_for_rows("SELECT event_id FROM interactions WHERE event_id = $1", f"{run}-later", expect=1)
    assert hub.metrics().get('hub_events_rejected_total{reason="processing_error"}') == 1
