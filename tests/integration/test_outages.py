"""PostgreSQL going away mid-stream loses no event and sends no trigger twice."""

import asyncio
import json
import os

import pytest

from hub.infra import local
from schemas import topics
from tests.factories import envelope
from tests.integration.harness import HubUnderTest, wait_for_rows


@pytest.fixture
def local_postgres() -> local.LocalPostgres:
    database = local.postgres()
    if not database.is_running() or database.url != os.environ["HUB_DATABASE_URL"]:
        pytest.skip("needs the PostgreSQL of `hub infra up`, which this test stops and starts")
    return database


async def test_events_published_while_the_database_is_down_are_recorded_once_it_is_back(
    hub: HubUnderTest, local_postgres: local.LocalPostgres
) -> None:
    run = hub.prefix.strip(".")
    complaints = [
        envelope(
            "phone",
            "complaint",
            event_id=f"{run}-c{n}",
            customer={"customer_id": f"{run}-K{n}"},
            payload={"complaint_id": f"{run}-CMP-{n}"},
        )
        for n in range(20)
    ]
    records = [
        (topics.INTERACTIONS_PHONE, c["customer"]["customer_id"].encode(), json.dumps(c).encode())
        for c in complaints
    ]
    local_postgres.stop()
    try:
        await hub.produce(records[:10])
        await asyncio.sleep(3)  # the worker retries with back-off meanwhile
        assert hub.process is not None and hub.process.poll() is None, "the worker keeps running"
    finally:
        local_postgres.start()
    await hub.produce(records[10:] + records[:10])  # and a replay of the first half

    ids = [c["event_id"] for c in complaints]
    rows = await wait_for_rows(
        "SELECT event_id FROM interactions WHERE event_id = ANY($1)", ids, expect=len(ids), timeout_s=60
    )
    assert sorted(r["event_id"] for r in rows) == sorted(ids)
    care = await hub.consume(topics.TRIGGERS_CARE, expect=len(ids), settle_s=2)
    evidence = sorted(json.loads(r.value)["evidence"][0] for r in care)
    assert evidence == sorted(ids), "one follow-up per complaint (one complaint per customer), none twice"
    assert hub.metrics()["hub_db_retries_total"] >= 1
