"""Two workers in one group, one leaving mid-stream: every event once, every trigger once."""

import asyncio
import json
from pathlib import Path

from schemas import topics
from tests.factories import envelope
from tests.integration.harness import HubUnderTest, assert_every_published_decision_sent_once, wait_for_rows

CUSTOMERS = 100
PER_CUSTOMER = 30


def complaints(run: str, wave: int) -> list[tuple[str, bytes, bytes]]:
    records = []
    for n in range(CUSTOMERS * PER_CUSTOMER // 2):
        customer = f"{run}-K{n % CUSTOMERS}"
        event = envelope(
            "phone",
            "complaint",
            event_id=f"{run}-w{wave}-{n}",
            customer={"customer_id": customer},
            payload={"complaint_id": f"{run}-CMP-{wave}-{n}"},
        )
        records.append((topics.INTERACTIONS_PHONE, customer.encode(), json.dumps(event).encode()))
    return records


async def test_a_worker_leaving_mid_stream_loses_and_doubles_nothing(
    hub: HubUnderTest, tmp_path: Path
) -> None:
    second = HubUnderTest(tmp_path / "second", prefix=hub.prefix)
    second.workdir.mkdir()
    second.start()
    run = hub.prefix.strip(".")
    first_wave, second_wave = complaints(run, 1), complaints(run, 2)
    try:
        await hub.produce(first_wave)
        await asyncio.sleep(0.5)
        recorded_by_second = sum(
            v for k, v in second.metrics().items() if k.startswith("hub_events_recorded")
        )
        second.stop()  # leaves the group while its partitions still have work
        await hub.produce(second_wave)
    finally:
        second.stop()

    ids = [json.loads(value)["event_id"] for _, _, value in first_wave + second_wave]
    rows = await wait_for_rows(
        "SELECT event_id FROM interactions WHERE event_id = ANY($1)", ids, expect=len(ids), timeout_s=90
    )
    assert len(rows) == len(ids)
    await assert_every_published_decision_sent_once(hub, run)
    assert recorded_by_second > 0, "the second worker took part before it left"
