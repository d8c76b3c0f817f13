"""Run the real worker against the real broker and database, and look at what it did."""

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from hub.errors import InfraError
from hub.readiness import free_port, wait_until_ready
from schemas import topics

READY_TIMEOUT_S = 60


@dataclass
class HubUnderTest:
    """One isolated hub: its own topic prefix, data folder and web port."""

    workdir: Path
    prefix: str = field(default_factory=lambda: f"it-{uuid.uuid4().hex[:8]}.")
    web_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "HUB_TOPIC_PREFIX": self.prefix,
            "HUB_DATA_DIR": str(self.workdir / "data"),
            "HUB_WEB_PORT": str(self.web_port),
            "HUB_BATCH_WITHIN_MS": "20",
            # No control group unless a test asks: a random customer id would otherwise be
            # held out of sales one time in twenty (the control group has unit tests).
            "HUB_POLICY__CONTROL_SHARE": "0",
            # The event-time bound of identity resolution applies after one second of
            # real time, not a minute, so that tests of it stay short.
            "HUB_IDENTITY__MIN_WAIT_SECONDS": "1",
            **self.extra_env,
        }

    @property
    def bootstrap(self) -> str:
        return os.environ["HUB_KAFKA_BOOTSTRAP"]

    def topic(self, name: str) -> str:
        return self.prefix + name

    def hub(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hub", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
            timeout=60,
        )

    def start(self) -> None:
        self.starts += 1
        with (self.workdir / f"worker-{self.starts}.log").open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hub", "worker"], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            wait_until_ready(self.process, self.web_port, timeout_s=READY_TIMEOUT_S, log_hint="the log below")
        except InfraError as exc:
            raise AssertionError(f"{exc}\n{self.log()}") from None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(45)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"worker did not stop within 45s of SIGTERM:\n{self.log()}") from None
        finally:
            self.process = None

    def log(self) -> str:
        return (self.workdir / f"worker-{self.starts}.log").read_text(errors="replace")[-6000:]

    def metrics(self) -> dict[str, float]:
        sums: dict[str, float] = {}
        with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/metrics", timeout=5) as answer:
            for line in answer.read().decode().splitlines():
                if line and not line.startswith("#"):
                    series, value = line.rsplit(" ", 1)
                    sums[series] = float(value)
        return sums

    async def produce(self, records: Iterable[tuple[str, bytes | None, bytes]]) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        await producer.start()
        try:
            for topic, key, value in records:
                await producer.send(self.topic(topic), value, key=key)
            await producer.flush()
        finally:
            await producer.stop()

    async def consume(
        self, topic: str, *, expect: int, timeout_s: float = 30.0, settle_s: float = 0.0
    ) -> list[Any]:
        """Every record of ``topic`` from the beginning: wait for ``expect``, then ``settle_s`` more."""
        consumer = AIOKafkaConsumer(
            self.topic(topic),
            bootstrap_servers=self.bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        found: list[Any] = []
        try:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline and len(found) < expect:
                for records in (await consumer.getmany(timeout_ms=300)).values():
                    found.extend(records)
            settle_until = time.monotonic() + settle_s
            while time.monotonic() < settle_until:
                for records in (await consumer.getmany(timeout_ms=300)).values():
                    found.extend(records)
        finally:
            await consumer.stop()
        return found


async def fetch(sql: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(os.environ["HUB_DATABASE_URL"])
    try:
        return list(await connection.fetch(sql, *args))
    finally:
        await connection.close()


async def wait_for_rows(sql: str, *args: Any, expect: int, timeout_s: float = 30.0) -> list[asyncpg.Record]:
    deadline = time.monotonic() + timeout_s
    rows = await fetch(sql, *args)
    while len(rows) < expect and time.monotonic() < deadline:
        await asyncio.sleep(0.3)
        rows = await fetch(sql, *args)
    return rows


def values(records: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in records]


async def assert_every_published_decision_sent_once(
    hub: HubUnderTest, run: str, timeout_s: float = 60
) -> None:
    """The triggers on the topics are exactly the decisions logged as published: none lost, none twice."""
    rows = await fetch(
        "SELECT decision_id, kind FROM decisions WHERE customer_id LIKE $1 AND outcome = 'published'",
        f"{run}-%",
    )
    expected = sorted(r["decision_id"] for r in rows)
    care = sum(1 for r in rows if r["kind"] == "care")
    sent = await hub.consume(topics.TRIGGERS_CARE, expect=care, timeout_s=timeout_s, settle_s=2)
    sent += await hub.consume(
        topics.TRIGGERS_CROSS_SELL, expect=len(rows) - care, timeout_s=timeout_s, settle_s=1
    )
    ids = sorted(json.loads(r.value)["trigger_id"] for r in sent)
    assert ids == expected, f"{len(ids)} triggers sent for {len(expected)} published decisions"
    assert expected, "the scenario published something"


async def wait_for_metric(hub: HubUnderTest, prefix: str, at_least: float, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if sum(v for k, v in hub.metrics().items() if k.startswith(prefix)) >= at_least:
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"{prefix} did not reach {at_least}:\n{hub.log()}")
