"""Faust-consumed topics commit only up to the first record not yet handled.

Faust alone commits past a held record in both cases below (its gap check misses a gap
of one and does not run on a partition without a committed offset); a restart would
then skip the held record for good.
"""

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from tests.integration.harness import HubUnderTest
from tests.integration.probes.commit_probe import PROBE_TOPIC

COMMIT_ROUNDS_S = 1.5
"""Several of the probe's 0.2 s commit intervals: long enough for a wrong commit to land."""


@pytest.fixture
def probe(tmp_path: Path) -> Iterator["Probe"]:
    running = Probe(HubUnderTest(tmp_path))  # its own app in its own group: no worker
    try:
        yield running
    finally:
        running.stop()


class Probe:
    def __init__(self, hub: HubUnderTest, name: str = "probe", *, drop_first: bool = False) -> None:
        self.hub = hub
        self.log_path = hub.workdir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.probes.commit_probe"],
            env={**hub.env, **({"PROBE_DROP_FIRST": "1"} if drop_first else {})},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[2],
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()

    def lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()

    async def wait_for(self, line: str, timeout_s: float = 60, times: int = 1) -> None:
        deadline = time.monotonic() + timeout_s
        while self.lines().count(line) < times:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the probe never printed {line!r}:\n" + "\n".join(self.lines()[-40:]))
            await asyncio.sleep(0.1)

    async def send(self, *values: bytes) -> None:
        await self.hub.produce((PROBE_TOPIC, None, value) for value in values)

    async def committed(self) -> int | None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.hub.bootstrap, group_id=self.hub.prefix + "interaction-hub"
        )
        await consumer.start()
        try:
            offset: int | None = await consumer.committed(TopicPartition(self.hub.topic(PROBE_TOPIC), 0))
            return offset
        finally:
            await consumer.stop()


async def test_a_held_record_is_never_committed_past(probe: Probe) -> None:
    # Never-committed partition: offset 0 held, 1 and 2 handled.
    await probe.send(b"hold", b"ack", b"ack")
    await probe.wait_for("acked 2")
    await asyncio.sleep(COMMIT_ROUNDS_S)
    assert await probe.committed() in (None, 0)  # 0: "start at the held record"

    await probe.send(b"release")
    await probe.wait_for("acked 3")
    await _until_committed(probe, 4)

    # A gap of a single record after a committed offset: 4 held, 5 and 6 handled.
    await probe.send(b"hold", b"ack", b"ack")
    await probe.wait_for("acked 6")
    await asyncio.sleep(COMMIT_ROUNDS_S)
    assert await probe.committed() == 4

    await probe.send(b"release")
    await probe.wait_for("acked 7")
    await _until_committed(probe, 8)


async def test_a_rebalance_delivers_again_what_a_never_committed_partition_held(probe: Probe) -> None:
    # Offset 0 held and 1-2 handled, nothing committed; then a second member joins. The
    # records fetched before the rebalance are dropped by Faust and must be fetched again:
    # aiokafka's seek to the committed offset does not move a partition without one.
    await probe.send(b"hold", b"ack", b"ack")
    await probe.wait_for("acked 2")
    second = Probe(probe.hub, "second-probe")
    try:
        await _until(lambda: probe.lines().count("held 0") + second.lines().count("held 0") >= 2)
    finally:
        second.stop()  # and so the first probe takes every partition again
    await probe.send(b"release")
    await probe.wait_for("acked 3")
    await _until_committed(probe, 4)


async def test_a_record_the_consumer_skipped_after_seeking_is_fetched_again_before_the_commit_passes_it(
    probe: Probe,
) -> None:
    await probe.send(b"ack", b"ack", b"ack", b"ack")
    await probe.wait_for("acked 3")
    await _until_committed(probe, 4)
    probe.stop()
    await probe.send(b"ack", b"ack", b"ack")  # 4, 5, 6
    # Started again, the probe seeks to 4 but its stream never sees the first record it
    # fetches: on a topic whose offsets are contiguous the gap is noticed, and fetched again.
    await _skipped_then_handled(Probe(probe.hub, "probe-again", drop_first=True), skipped=4, last=6)


async def test_a_record_skipped_on_a_partition_never_committed_is_fetched_again(tmp_path: Path) -> None:
    hub = HubUnderTest(tmp_path)
    await hub.produce((PROBE_TOPIC, None, value) for value in (b"ack", b"ack", b"ack"))
    # Nothing committed yet: delivery starts at the log's start, offset 0.
    await _skipped_then_handled(Probe(hub, drop_first=True), skipped=0, last=2)


async def _skipped_then_handled(probe: Probe, *, skipped: int, last: int) -> None:
    """``probe``'s stream missed record ``skipped``; it is handled and committed all the same."""
    try:
        await probe.wait_for(f"dropped {skipped}")
        await probe.wait_for(f"acked {skipped}")
        await probe.wait_for(f"acked {last}")
        await _until_committed(probe, last + 1)
    finally:
        probe.stop()


async def _until(condition: Callable[[], bool], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.2)


async def _until_committed(probe: Probe, offset: int, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while (found := await probe.committed()) != offset:
        assert time.monotonic() < deadline, f"committed offset {found}, expected {offset}"
        await asyncio.sleep(0.2)
