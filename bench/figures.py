"""What one ``make bench`` run measured, as plain values for the report and the targets."""

from dataclasses import dataclass

from bench.kafka_counts import RecordCounts
from bench.profile import Profile


@dataclass(frozen=True, slots=True)
class Throughput:
    rate: float
    """Events per second."""
    worker_us: float | None
    """CPU µs per event of the process(es) that did the work; None when not measured."""
    broker_us: float | None
    postgres_us: float | None = None


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of the sorted ``values`` lie (nan when empty)."""
    return values[min(len(values) - 1, int(share * len(values)))] if values else float("nan")


@dataclass(frozen=True, slots=True)
class Latency:
    offered_rate: float
    offered: int
    seconds: list[float]
    """Received latencies, sorted."""

    def ms(self, share: float) -> float:
        return percentile(self.seconds, share) * 1000


@dataclass(frozen=True, slots=True)
class State:
    """A worker that recorded one event each of ``customers`` distinct customers."""

    customers: int
    rss_bytes: int
    data_bytes: int
    """Size of the worker's data folder (its local state store) on disk."""
    stop_s: float
    """SIGTERM to exit."""
    start_to_ready_s: float
    """Start of a new worker on the same data folder to /readyz answering 200."""
    empty_start_to_ready_s: float
    """The same for a new worker on an empty data folder (states read from PostgreSQL when needed)."""

    @property
    def restart_to_ready_s(self) -> float:
        return self.stop_s + self.start_to_ready_s

    @property
    def empty_restart_to_ready_s(self) -> float:
        return self.stop_s + self.empty_start_to_ready_s


@dataclass(frozen=True, slots=True)
class BacktestRate:
    """``hub backtest`` over a stored history (bench/backtest.py)."""

    events: int
    customers: int
    seconds: float
    cpu_seconds: float
    """The backtest's processes' user + system time over the replay (PostgreSQL's is not in it)."""
    peak_rss_bytes: int
    """The largest resident set of one of its processes."""
    decisions: int
    """Decisions of the candidate rules."""
    jobs: int
    change: str = "the walk-in referral's threshold raised"
    """What the candidate changes in the shipped rules."""
    rates: tuple[float, ...] = ()
    """With several runs, the rate of each, slowest first: the figures above are the median run's."""

    @property
    def rate(self) -> float:
        return self.events / self.seconds


@dataclass(frozen=True, slots=True)
class Figures:
    run: str
    events: int
    partitions: int
    raw: Throughput
    minimal: Throughput
    full: Throughput
    records: RecordCounts
    latency: Latency
    """Complaints keyed by their customer id: decided where they arrive."""
    latency_rekeyed: Latency
    """Complaints keyed by another identifier: re-keyed through the internal topic first."""
    profile: Profile
    profiler_us: float | None
    group: Throughput
    group_workers: int
    group_partitions: int
    state: State | None
    """None when skipped (BENCH_STATE_CUSTOMERS=0)."""
    backtest: BacktestRate | None = None
    backtest_every_rule: BacktestRate | None = None
    """The same history with a new version of every rule: every customer replayed twice."""
    """None when skipped (BENCH_BACKTEST_EVENTS=0)."""
