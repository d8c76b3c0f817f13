"""Run the three measurements on the configured broker and record them.

1. raw aiokafka passthrough (batched consume -> produce): the ceiling;
2. the minimal Faust agent that forwards each event, as Faust's docs show it;
3. the full hub pipeline (validate, re-key, record in PostgreSQL, decide, publish),
   then its event-to-trigger latency at a steady offered load.

Each runs over the same pre-generated events on fresh topics of the same broker, in the
same run, so the ratios compare like with like. Results go to docs/benchmarks.md.
"""

import asyncio
import json
import logging
import os
import platform
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.passthrough import passthrough
from hub.errors import HubError
from hub.kafka_admin import ensure_topics
from hub.readiness import free_port, wait_until_ready
from hub.settings import Settings, load_settings
from hub.simulate import Record, TrafficGenerator
from hub.storage.admin import migrate_database
from schemas import topics

EVENTS = int(os.environ.get("BENCH_EVENTS", "20000"))
LATENCY_EVENTS = int(os.environ.get("BENCH_LATENCY_EVENTS", "2000"))
LATENCY_RATE = int(os.environ.get("BENCH_LATENCY_RATE", "500"))
PARTITIONS = 4
REPORT = Path("docs/benchmarks.md")


async def create_topics(bootstrap: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, PARTITIONS, 1) for n in names])
    finally:
        await admin.close()


async def preload(bootstrap: str, records: list[tuple[str, bytes | None, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=10, max_batch_size=256 * 1024)
    await producer.start()
    try:
        for topic, key, value in records:
            await producer.send(topic, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


async def count_until(bootstrap: str, topic: str, expect: int, timeout_s: float = 600) -> float:
    """Seconds from the first to the ``expect``-th record arriving on ``topic``."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    seen, first = 0, 0.0
    deadline = time.monotonic() + timeout_s
    try:
        while seen < expect and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200, max_records=5000)).values():
                if not first:
                    first = time.perf_counter()
                seen += len(records)
        if seen < expect:
            raise RuntimeError(f"only {seen} of {expect} records arrived on {topic}")
        return time.perf_counter() - first
    finally:
        await consumer.stop()


def events(run: str, start: datetime) -> tuple[list[Record], list[Record]]:
    generator = TrafficGenerator(2000, seed=int(time.time()), start=start, bad_share=0, duplicate_share=0)
    return list(generator.profiles()), list(generator.events(EVENTS))


async def bench_raw(bootstrap: str, run: str, stream: list[Record]) -> float:
    source, target = f"{run}.raw.in", f"{run}.raw.out"
    await create_topics(bootstrap, [source, target])
    await preload(bootstrap, [(source, r.key, r.value) for r in stream])
    return len(stream) / await passthrough(bootstrap, source, target, len(stream), f"{run}.raw")


async def bench_faust(bootstrap: str, run: str, stream: list[Record]) -> float:
    source, target = f"{run}.faust.in", f"{run}.faust.out"
    await create_topics(bootstrap, [source, target])
    await preload(bootstrap, [(source, r.key, r.value) for r in stream])
    port = free_port()
    env = {
        **os.environ,
        "BENCH_APP_ID": f"{run}.faust",
        "BENCH_IN": source,
        "BENCH_OUT": target,
        "BENCH_WEB_PORT": str(port),
    }
    worker = spawn(
        ["faust", "-A", "bench.faust_forward", "worker", "-l", "warn", "--web-port", str(port)], env
    )
    try:
        return len(stream) / await count_until(bootstrap, target, len(stream))
    finally:
        stop(worker)


async def bench_hub(run: str, profiles: list[Record], stream: list[Record]) -> tuple[float, list[float]]:
    prefix = f"{run}.hub."
    port = free_port()
    env = {
        **os.environ,
        "HUB_TOPIC_PREFIX": prefix,
        "HUB_WEB_PORT": str(port),
        "HUB_DATA_DIR": f".hub-data/{run}",
        "HUB_LOG_LEVEL": "warn",
    }
    settings = load_settings(topic_prefix=prefix)
    bootstrap = settings.require_kafka()
    await ensure_topics(settings)
    await preload(bootstrap, [(prefix + r.topic, r.key, r.value) for r in profiles])
    worker = spawn(["hub", "worker"], env)
    try:
        await asyncio.to_thread(wait_until_ready, worker, port, timeout_s=90, log_hint="HUB_LOG_LEVEL=info")
        # Profiles first, as in production: a quarter of the events name their customer
        # only by an identifier, which the profiles' identifier index resolves.
        await profiles_consumed(port, len(profiles))
        await preload(bootstrap, [(prefix + r.topic, r.key, r.value) for r in stream])
        elapsed = await rows_until(settings.require_database_url(), prefix, len(stream))
        latencies = await measure_latency(bootstrap, prefix)
        return len(stream) / elapsed, latencies
    finally:
        stop(worker)


async def profiles_consumed(port: int, expect: int, timeout_s: float = 180) -> None:
    def stored() -> float:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            for line in answer.read().decode().splitlines():
                if line.startswith("hub_profiles_consumed_total "):
                    return float(line.split()[1])
        return 0.0

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await asyncio.to_thread(stored) >= expect:
            return
        await asyncio.sleep(1.0)
    raise RuntimeError(f"the hub did not store {expect} profiles in {timeout_s}s")


async def rows_until(url: str, prefix: str, expect: int, timeout_s: float = 600) -> float:
    """Seconds between the first and the last batch the hub committed for this run.

    Timed by PostgreSQL's own commit timestamps, and polled slowly, so that watching
    does not take CPU from the pipeline on a small machine.
    """
    connection = await asyncpg.connect(url)
    query = (
        "SELECT count(*) AS rows, extract(epoch FROM max(recorded_at) - min(recorded_at)) AS span"
        " FROM interactions WHERE kafka_topic LIKE $1"
    )
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            await asyncio.sleep(1.0)
            row = await connection.fetchrow(query, prefix + "%")
            if row["rows"] >= expect:
                return float(row["span"])
        raise RuntimeError(f"the hub recorded {row['rows']} of {expect} events in {timeout_s}s")
    finally:
        await connection.close()


async def measure_latency(bootstrap: str, prefix: str) -> list[float]:
    """Complaints at a steady rate, each a care trigger: seconds from occurred_at to receipt."""
    consumer = AIOKafkaConsumer(
        prefix + topics.TRIGGERS_CARE, bootstrap_servers=bootstrap, auto_offset_reset="latest"
    )
    await consumer.start()
    await consumer.seek_to_end()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=1)
    await producer.start()
    wanted: set[str] = set()
    latencies: list[float] = []

    async def send() -> None:
        interval = 1 / LATENCY_RATE
        began = time.perf_counter()
        for n in range(LATENCY_EVENTS):
            await asyncio.sleep(max(0.0, began + n * interval - time.perf_counter()))
            event_id = f"lat-{uuid.uuid4()}"
            wanted.add(event_id)
            await producer.send(prefix + topics.INTERACTIONS_PHONE, complaint(event_id), key=b"lat")

    async def receive() -> None:
        deadline = time.monotonic() + LATENCY_EVENTS / LATENCY_RATE + 60
        while len(latencies) < LATENCY_EVENTS and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                now = datetime.now(UTC)
                for record in records:
                    trigger = json.loads(record.value)
                    if trigger["evidence"][0] in wanted:
                        latencies.append(
                            (now - datetime.fromisoformat(trigger["created_at"])).total_seconds()
                        )

    try:
        await asyncio.gather(send(), receive())
    finally:
        await producer.stop()
        await consumer.stop()
    return sorted(latencies)


def complaint(event_id: str) -> bytes:
    return json.dumps(
        {
            "event_id": event_id,
            "schema_version": 1,
            "channel": "phone",
            "type": "complaint",
            "occurred_at": datetime.now(UTC).isoformat(),
            "customer": {"customer_id": f"L{event_id[-6:]}"},
            "source": {"system": "bench"},
            "payload": {"complaint_id": event_id, "category": "service", "severity": "medium"},
        }
    ).encode()


def spawn(module_args: list[str], env: dict[str, str]) -> "subprocess.Popen[bytes]":
    return subprocess.Popen(
        [sys.executable, "-m", *module_args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def stop(worker: "subprocess.Popen[bytes]") -> None:
    worker.terminate()
    try:
        worker.wait(45)
    except subprocess.TimeoutExpired:
        worker.kill()


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(share * len(values)))] if values else float("nan")


def report(raw: float, minimal: float, full: float, latencies: list[float]) -> str:
    p50, p95, p99 = (percentile(latencies, q) * 1000 for q in (0.50, 0.95, 0.99))
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    return "\n".join(
        [
            f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {machine}, "
            "local Apache Kafka 4.1.1 (KRaft), PostgreSQL 18",
            "",
            f"{EVENTS} simulated interactions over {PARTITIONS} partitions; latency: {len(latencies)} of "
            f"{LATENCY_EVENTS} complaints offered at {LATENCY_RATE}/s.",
            "",
            "| measurement | events/s | vs. minimal Faust agent | vs. raw passthrough |",
            "|---|---:|---:|---:|",
            f"| raw aiokafka passthrough (ceiling) | {raw:,.0f} | {raw / minimal:.2f}× | 1.00× |",
            f"| minimal Faust agent (forward each event) | {minimal:,.0f} | 1.00× | {minimal / raw:.1%} |",
            f"| full hub pipeline (validate, re-key, record, decide, publish) | {full:,.0f} | "
            f"{full / minimal:.2f}× | {full / raw:.1%} |",
            "",
            f"Event-to-trigger latency of the full pipeline (occurred_at to receipt by a consumer of "
            f"`triggers.care`): p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms.",
            "",
        ]
    )


async def prepare(settings: Settings) -> str:
    """What a fresh clone lacks before the hub can run: the schema. Returns the broker."""
    bootstrap = settings.require_kafka()
    settings.require_database_url()
    settings.require_pii_key()
    await migrate_database(settings)
    return bootstrap


async def measure() -> str:
    # Fresh topics elect their leaders while the first records go out; the producer's
    # retries are expected and its warnings only clutter the figures.
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    settings = load_settings()
    bootstrap = await prepare(settings)
    run = f"bench-{uuid.uuid4().hex[:6]}"
    profiles, stream = events(run, datetime.now(UTC) - timedelta(seconds=3 * EVENTS + 60))
    print(f"benchmark {run}: {EVENTS} events, {PARTITIONS} partitions, broker {bootstrap}", flush=True)
    raw = await bench_raw(bootstrap, run, stream)
    print(f"  raw aiokafka passthrough : {raw:10,.0f} events/s", flush=True)
    minimal = await bench_faust(bootstrap, run, stream)
    print(f"  minimal Faust agent      : {minimal:10,.0f} events/s", flush=True)
    full, latencies = await bench_hub(run, profiles, stream)
    print(f"  full hub pipeline        : {full:10,.0f} events/s", flush=True)
    return report(raw, minimal, full, latencies)


async def prepare_only() -> None:
    await prepare(load_settings())


def main() -> None:
    try:
        if "--prepare" in sys.argv[1:]:  # what the suite checks on a fresh database
            asyncio.run(prepare_only())
            print("bench: prepared", flush=True)
            return
        text = asyncio.run(measure())
    except HubError as exc:
        sys.exit(f"bench: {exc}")
    print(text)
    marker = "<!-- runs: make bench inserts each new run below this line -->"
    previous = REPORT.read_text() if REPORT.exists() else f"# Benchmarks\n\n{marker}\n"
    head, _, runs = previous.partition(marker)
    REPORT.write_text(f"{head}{marker}\n\n{text}\n{runs.lstrip()}")


if __name__ == "__main__":
    main()
