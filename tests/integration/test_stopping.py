"""SIGTERM stops a worker within HUB_STOP_TIMEOUT_S, whatever it is doing, losing nothing."""

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.infra import local
from schemas import topics
from tests.factories import envelope
from tests.integration.harness import HubUnderTest, wait_for_rows
from tests.integration.test_outages import local_postgres  # noqa: F401 (a fixture)

BOUND_S = 6.0
"""HUB_STOP_TIMEOUT_S for these tests (15 s by default): short, so that they are."""
SLACK_S = 3.0
"""The interpreter's own exit after the bound."""


@pytest.fixture
def bounded(tmp_path: Path) -> Iterator[HubUnderTest]:
    under_test = HubUnderTest(tmp_path, extra_env={"HUB_STOP_TIMEOUT_S": str(BOUND_S)})
    yield under_test
    if under_test.process is not None and under_test.process.poll() is None:
        under_test.process.kill()
        under_test.process.wait()


def stop_seconds(process: "subprocess.Popen[bytes]") -> float:
    began = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(BOUND_S * 4)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    return time.monotonic() - began


def spawn_unready(hub: HubUnderTest) -> None:
    """Start the worker without waiting for it to be ready (it cannot be)."""
    hub.starts += 1
    with (hub.workdir / f"worker-{hub.starts}.log").open("wb") as log:
        hub.process = subprocess.Popen(
            [sys.executable, "-m", "hub", "worker"], env=hub.env, stdout=log, stderr=subprocess.STDOUT
        )


async def wait_for_log(hub: HubUnderTest, text: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in hub.log():
        assert time.monotonic() < deadline, f"never logged {text!r}:\n{hub.log()}"
        await asyncio.sleep(0.2)


async def test_sigterm_while_waiting_for_the_database_at_start(bounded: HubUnderTest) -> None:
    bounded.extra_env["HUB_DATABASE_URL"] = "postgresql://hub:wrong@127.0.0.1:9/hub"  # nothing there
    spawn_unready(bounded)
    await wait_for_log(bounded, "waiting for the services")
    assert stop_seconds(bounded.process) <= BOUND_S + SLACK_S


async def test_sigterm_during_a_database_outage_hands_the_batch_back(
    bounded: HubUnderTest,
    local_postgres: local.LocalPostgres,  # noqa: F811 (the fixture imported above)
) -> None:
    bounded.start()
    run = bounded.prefix.strip(".")
    events = [
        envelope("web", "login", event_id=f"{run}-e{n}", customer={"customer_id": f"{run}-K{n}"})
        for n in range(10)
    ]
    records = [
        (topics.INTERACTIONS_WEB, e["customer"]["customer_id"].encode(), json.dumps(e).encode())
        for e in events
    ]
    local_postgres.stop()
    try:
        await bounded.produce(records)
        await wait_for_log(bounded, "retrying")  # a batch is in hand, waiting for the database
        assert bounded.process is not None
        took = stop_seconds(bounded.process)
        assert took <= BOUND_S + SLACK_S, f"stopped after {took:.1f} s:\n{bounded.log()}"
    finally:
        local_postgres.start()
    bounded.start()  # the batch it could not finish is read again
    ids = [e["event_id"] for e in events]
    rows = await wait_for_rows(
        "SELECT event_id FROM interactions WHERE event_id = ANY($1)", ids, expect=len(ids), timeout_s=60
    )
    assert sorted(r["event_id"] for r in rows) == sorted(ids)
    bounded.stop()
