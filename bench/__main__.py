"""Run the measurements on the configured broker and record them.

1. raw aiokafka passthrough (batched consume -> produce): the ceiling;
2. the minimal Faust agent that forwards each event, as Faust's docs show it;
3. the full hub pipeline (validate, re-key, record in PostgreSQL, decide, publish) with
   one worker, profiled by py-spy, with the Kafka records it wrote per event; then its
   event-to-trigger latency with live traffic offered at half the rate it sustained;
4. the full pipeline again with two workers in one group on eight partitions;
5. optionally (BENCH_STATE_CUSTOMERS), a worker holding that many customers' state: its
   resident memory and its restart-to-ready time;
6. ``hub backtest`` over a stored history of BENCH_BACKTEST_EVENTS (1,000,000; 0 skips it)
   on a database of its own, the one-rule change BENCH_BACKTEST_RUNS times (3, the median
   run reported) and every rule new once (bench/backtest.py).

Each throughput run reports the CPU µs per event of the process doing the work and of
the broker over the same window. Each runs over events generated up front, on fresh
topics of the same broker, in the same run, so the ratios compare like with like.
Results go to docs/benchmarks.md, the profile to docs/profiles/.
"""

import asyncio
import logging
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import cpu, isolation
from bench.backtest import EVENTS as BACKTEST_EVENTS
from bench.backtest import backtest_on_own_database
from bench.figures import Figures, Throughput
from bench.kafka_io import Arrivals, create_topics, publish
from bench.latency import PROBE_EVERY
from bench.passthrough import passthrough
from bench.pipeline import HubRun, single_worker, worker_group
from bench.report import render
from bench.state import held_state
from bench.workers import spawn, stop
from hub.errors import HubError
from hub.readiness import free_port
from hub.settings import Settings, load_settings
from hub.simulate import Record, TrafficGenerator
from hub.storage.admin import migrate_database

EVENTS = int(os.environ.get("BENCH_EVENTS", "20000"))
LATENCY_EVENTS = int(os.environ.get("BENCH_LATENCY_EVENTS", "2000"))
STATE_CUSTOMERS = int(os.environ.get("BENCH_STATE_CUSTOMERS", "0"))
PARTITIONS = 4
GROUP_WORKERS = 2
GROUP_PARTITIONS = 8
REPORT = Path("docs/benchmarks.md")


def events(seed: int, start: datetime, count: int = EVENTS) -> tuple[list[Record], list[Record]]:
    generator = TrafficGenerator(2000, seed=seed, start=start, bad_share=0, duplicate_share=0)
    return list(generator.profiles()), list(generator.events(count))


def _per_event(seconds: float, count: int) -> float:
    return seconds * 1e6 / count


async def bench_raw(bootstrap: str, run: str, stream: list[Record]) -> Throughput:
    """The passthrough runs in this process: its CPU is this process's around it; the
    broker's is counted from the publishing of the events to the last one forwarded."""
    source, target = f"{run}.raw.in", f"{run}.raw.out"
    await create_topics(bootstrap, [source, target], PARTITIONS)
    broker = cpu.CpuWindow({"broker": cpu.broker_pid()}).start()
    await publish(bootstrap, [(source, r.key, r.value) for r in stream])
    began = time.process_time()
    seconds = await passthrough(bootstrap, source, target, len(stream), f"{run}.raw")
    own = time.process_time() - began
    broker.stop()
    return Throughput(
        len(stream) / seconds, _per_event(own, len(stream)), broker.micros_per("broker", len(stream))
    )


async def bench_faust(bootstrap: str, run: str, stream: list[Record]) -> Throughput:
    """The events are published once the agent has forwarded a first record, so that the
    window holds no start-up of the worker: like the hub's, which is ready first."""
    source, target = f"{run}.faust.in", f"{run}.faust.out"
    await create_topics(bootstrap, [source, target], PARTITIONS)
    port = free_port()
    env = {
        **os.environ,
        "BENCH_APP_ID": f"{run}.faust",
        "BENCH_IN": source,
        "BENCH_OUT": target,
        "BENCH_WEB_PORT": str(port),
    }
    records = [(source, r.key, r.value) for r in stream]
    worker = spawn(
        ["faust", "-A", "bench.faust_forward", "worker", "-l", "warn", "--web-port", str(port)], env
    )
    try:
        async with Arrivals(bootstrap, target) as arrivals:
            await publish(bootstrap, [(source, b"warm-up", b"warm-up")])
            await arrivals.take(1, timeout_s=120)
            window = cpu.CpuWindow({"worker": worker.pid, "broker": cpu.broker_pid()}).start()
            await publish(bootstrap, records)
            seconds = await arrivals.take(len(stream))
            window.stop()
    finally:
        stop(worker)
    return Throughput(
        len(stream) / seconds,
        window.micros_per("worker", len(stream)),
        window.micros_per("broker", len(stream)),
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
    server, database = settings.require_database_url(), isolation.database_name(run)
    url = await isolation.create_database(server, database)
    # The workers and every Settings read from here on use the run's own database.
    os.environ["HUB_DATABASE_URL"] = url
    try:
        await migrate_database(load_settings())
        figures = await measure_run(bootstrap, url, run)
    finally:
        os.environ["HUB_DATABASE_URL"] = server
        await isolation.drop_database(server, database)
        await isolation.delete_topics(bootstrap, run)
    return render(figures, REPORT)


async def measure_run(bootstrap: str, url: str, run: str) -> Figures:
    seed, start = int(time.time()), datetime.now(UTC) - timedelta(seconds=3 * EVENTS + 60)
    profiles, stream = events(seed, start)
    print(f"benchmark {run}: {EVENTS} events, {PARTITIONS} partitions, broker {bootstrap}", flush=True)
    raw = await bench_raw(bootstrap, run, stream)
    print(f"  raw aiokafka passthrough : {raw.rate:10,.0f} events/s", flush=True)
    minimal = await bench_faust(bootstrap, run, stream)
    print(f"  minimal Faust agent      : {minimal.rate:10,.0f} events/s", flush=True)
    # Events of their own: event ids are unique across the whole contact history.
    live_traffic = events(seed + 2, start, LATENCY_EVENTS * (PROBE_EVERY - 1))[1]
    single = await single_worker(
        HubRun(run, "hub", PARTITIONS), url, profiles, stream, LATENCY_EVENTS, live_traffic
    )
    print(f"  full hub pipeline        : {single.throughput.rate:10,.0f} events/s", flush=True)
    # Events of their own: event ids are unique across the whole contact history.
    group_run = HubRun(run, f"hub{GROUP_PARTITIONS}", GROUP_PARTITIONS)
    group = await worker_group(group_run, url, profiles, events(seed + 1, start)[1], GROUP_WORKERS)
    print(
        f"  {GROUP_WORKERS} workers, {GROUP_PARTITIONS} partitions : {group.rate:10,.0f} events/s", flush=True
    )
    state = None
    if STATE_CUSTOMERS:
        state = await held_state(HubRun(run, "state", PARTITIONS), url, STATE_CUSTOMERS)
        print(
            f"  {STATE_CUSTOMERS:,} customers: restart-to-ready {state.restart_to_ready_s:.1f} s", flush=True
        )
    backtest = every_rule = None
    if BACKTEST_EVENTS:
        backtest, every_rule = await backtest_on_own_database(url, run, BACKTEST_EVENTS)
        print(f"  backtest ({BACKTEST_EVENTS:,} stored events): {backtest.rate:10,.0f} events/s", flush=True)
        print(f"  backtest, every rule new  : {every_rule.rate:10,.0f} events/s", flush=True)
    return Figures(
        run=run,
        events=EVENTS,
        partitions=PARTITIONS,
        raw=raw,
        minimal=minimal,
        full=single.throughput,
        records=single.records,
        latency=single.latency,
        latency_rekeyed=single.latency_rekeyed,
        profile=single.profile,
        profiler_us=single.profiler_us,
        group=group,
        group_workers=GROUP_WORKERS,
        group_partitions=GROUP_PARTITIONS,
        state=state,
        backtest=backtest,
        backtest_every_rule=every_rule,
    )


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
    insert_run(REPORT, text)


def insert_run(report: Path, text: str) -> None:
    """Put a run's section first, below the marker, in docs/benchmarks.md."""
    marker = "<!-- runs: make bench inserts each new run below this line -->"
    previous = report.read_text() if report.exists() else f"# Benchmarks\n\n{marker}\n"
    head, _, runs = previous.partition(marker)
    report.write_text(f"{head}{marker}\n\n{text}\n{runs.lstrip()}")


if __name__ == "__main__":
    main()
