"""The full hub pipeline under load: one worker (with its profile and record counts), and
two workers in one group on eight partitions."""

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench import cpu
from bench.figures import Latency, Throughput
from bench.kafka_counts import RecordCounts, records_per_event
from bench.kafka_io import committed, publish, settled_offsets
from bench.latency import measure_latency
from bench.profile import Profile, Profiler
from bench.workers import HubWorker, all_ready
from hub.kafka_admin import ensure_topics
from hub.settings import Settings, load_settings
from hub.simulate import Record
from schemas import topics

PROFILES = Path("docs/profiles")


@dataclass(frozen=True, slots=True)
class HubRun:
    """Where one pipeline run lives: its topic prefix, partitions and the broker."""

    run: str
    name: str
    partitions: int

    @property
    def prefix(self) -> str:
        return f"{self.run}.{self.name}."

    @property
    def settings(self) -> Settings:
        return load_settings(topic_prefix=self.prefix, partitions=self.partitions)

    async def topics(self) -> str:
        """Create the run's contract topics; return the broker."""
        await ensure_topics(self.settings)
        return self.settings.require_kafka()

    def worker(self, n: int = 0) -> HubWorker:
        return HubWorker(self.prefix, f".hub-data/{self.run}.{self.name}.{n}", self.partitions)

    def records(self, records: list[Record]) -> list[tuple[str, bytes | None, bytes]]:
        return [(self.prefix + r.topic, r.key, r.value) for r in records]


@dataclass(frozen=True, slots=True)
class SingleWorker:
    throughput: Throughput
    records: RecordCounts
    latency: Latency
    latency_rekeyed: Latency
    profile: Profile
    profiler_us: float | None
    """CPU µs per event that py-spy itself used while it sampled."""


SPAN_QUERY = (
    "SELECT count(*) AS rows, extract(epoch FROM max(recorded_at) - min(recorded_at)) AS span"
    " FROM interactions WHERE kafka_topic LIKE $1"
)


async def recorded(
    run: HubRun,
    bootstrap: str,
    url: str,
    expect: int,
    window: cpu.CpuWindow | None = None,
    timeout_s: float = 600,
) -> float:
    """Wait until the run's workers have handled all ``expect`` events; return the seconds
    between the first and the last batch recorded, by PostgreSQL's commit timestamps.

    First the broker is asked until the workers' group has committed all it consumed
    (channels, then the internal topics); only then PostgreSQL, whose every look scans
    the whole contact history (``kafka_topic`` has no index: 0.35 s of its CPU with 1.3
    million rows). The CPU ``window`` ends before that look, or with the last look if the
    first found events missing.
    """
    settings = run.settings
    # In the order records flow: the hot path's group reads the channels, Faust's group the
    # resolve stage, and the hot path the accepted events both send on.
    channels = [settings.topic(t) for t in topics.CHANNEL_TOPICS.values()]
    await committed(bootstrap, settings.hot_path_group, channels, timeout_s)
    await committed(bootstrap, settings.app_id, [settings.topic(topics.INTERACTIONS_UNRESOLVED)], timeout_s)
    await committed(
        bootstrap, settings.hot_path_group, [settings.topic(topics.INTERACTIONS_ACCEPTED)], timeout_s
    )
    if window is not None:
        window.stop()
    connection = await asyncpg.connect(url)
    deadline = time.monotonic() + timeout_s
    try:
        while (row := await connection.fetchrow(SPAN_QUERY, run.prefix + "%"))["rows"] < expect:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the hub recorded {row['rows']} of {expect} events in {timeout_s}s")
            await asyncio.sleep(5.0)
            if window is not None:
                window.stop()
        return float(row["span"])
    finally:
        await connection.close()


def stop_all(workers: list[HubWorker]) -> None:
    for worker in workers:
        worker.stop()
        worker.remove_data()


def _window(workers: list[HubWorker], **others: int | None) -> cpu.CpuWindow:
    return cpu.CpuWindow(
        {
            "worker": [w.pid for w in workers],
            "broker": cpu.broker_pid(),
            "postgres": cpu.postgres_pid(),
            **others,
        }
    )


def _throughput(window: cpu.CpuWindow, events: int, seconds: float) -> Throughput:
    return Throughput(
        rate=events / seconds,
        worker_us=window.micros_per("worker", events),
        broker_us=window.micros_per("broker", events),
        postgres_us=window.micros_per("postgres", events),
    )


async def start(run: HubRun, count: int, profiles: list[Record]) -> tuple[str, list[HubWorker]]:
    """Topics and ``count`` ready workers in one group that have consumed every profile."""
    bootstrap = await run.topics()
    workers = [run.worker(n).start() for n in range(count)]
    try:
        await all_ready(workers)
        # Profiles first, as in production: a quarter of the events name their customer
        # only by an identifier, which the profiles' identifier index resolves. Published
        # once the group is stable: profiles consumed by the first worker before the
        # second joined were seen neither committed nor all consumed after the rebalance.
        await publish(bootstrap, run.records(profiles))
        settings = run.settings
        await committed(bootstrap, settings.app_id, [settings.topic(topics.CUSTOMERS_PROFILE)], 180)
    except BaseException:
        stop_all(workers)
        raise
    return bootstrap, workers


async def single_worker(
    run: HubRun,
    url: str,
    profiles: list[Record],
    stream: list[Record],
    latency_events: int,
    live_traffic: list[Record],
) -> SingleWorker:
    """One worker over ``stream``, profiled by py-spy; then its latency at half the rate
    it sustained, with ``latency_events`` complaints among ``live_traffic``."""
    bootstrap, workers = await start(run, 1, profiles)
    try:
        before = await settled_offsets(bootstrap, run.prefix)
        profiler = Profiler(workers[0].pid, PROFILES / f"{run.run}.txt").start()
        spy = profiler.process.pid if profiler.process else None
        window = _window(workers, **{"py-spy": spy}).start()
        await publish(bootstrap, run.records(stream))
        seconds = await recorded(run, bootstrap, url, len(stream), window)
        profile = profiler.stop()
        after = await settled_offsets(bootstrap, run.prefix)
        throughput = _throughput(window, len(stream), seconds)
        latency = await measure_latency(
            bootstrap, run.prefix, throughput.rate / 2, latency_events, live_traffic
        )
    finally:
        stop_all(workers)
    return SingleWorker(
        throughput=throughput,
        records=records_per_event(before, after, run.prefix, Counter(r.topic for r in stream), len(stream)),
        latency=latency.keyed_by_customer,
        latency_rekeyed=latency.rekeyed,
        profile=profile,
        profiler_us=window.micros_per("py-spy", len(stream)),
    )


async def worker_group(
    run: HubRun, url: str, profiles: list[Record], stream: list[Record], count: int
) -> Throughput:
    """``count`` workers in one consumer group over ``stream``, measured like one."""
    bootstrap, workers = await start(run, count, profiles)
    try:
        window = _window(workers).start()
        await publish(bootstrap, run.records(stream))
        seconds = await recorded(run, bootstrap, url, len(stream), window)
        return _throughput(window, len(stream), seconds)
    finally:
        stop_all(workers)
