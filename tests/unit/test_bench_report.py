"""One run's report: the table, the extra figures, and each target marked met or missed."""

from collections import Counter
from dataclasses import replace
from pathlib import Path

from bench.backtest import median_run
from bench.figures import BacktestRate, Figures, Latency, State, Throughput
from bench.kafka_counts import RecordCounts
from bench.profile import Profile
from bench.report import backtest_line, render
from bench.targets import backtest_verdict, judge

DOC = Path("docs/benchmarks.md")


def figures(**changes: object) -> Figures:
    base = Figures(
        run="bench-abc123",
        events=20000,
        partitions=4,
        raw=Throughput(40_000, 25, 40),
        minimal=Throughput(2_500, 300, 200),
        full=Throughput(8_000, 140, 120, 60),
        records=RecordCounts(1.12, 0.07, {"hub.interactions.accepted": 1.0, "triggers.care": 0.07}),
        latency=Latency(4_000, 2000, [i / 2000 for i in range(1, 101)]),
        latency_rekeyed=Latency(4_000, 2000, [i / 1000 for i in range(1, 101)]),
        profile=Profile(Path("docs/profiles/bench-abc123.txt"), Counter({"a;b": 90, "a": 10})),
        profiler_us=12,
        group=Throughput(9_000, 150, 130, 70),
        group_workers=2,
        group_partitions=8,
        state=None,
    )
    return replace(base, **changes)


def test_targets_met_when_every_figure_is_within_bounds() -> None:
    verdicts = {v.target: v.met for v in judge(figures())}

    assert verdicts["full pipeline ≥ 20% of the raw passthrough"] is True
    assert verdicts["full pipeline ≥ 3× the minimal Faust agent"] is True
    assert verdicts["≤ 150 µs of worker CPU per event"] is True
    assert verdicts["≤ 1.1 Kafka records produced per input event plus triggers"] is True
    assert verdicts["latency p50 ≤ 50 ms"] is True
    assert verdicts["latency p99 ≤ 150 ms"] is True
    assert verdicts["1,000,000 customers in ≤ 1 GB RSS"] is None  # skipped


def test_targets_missed_and_state_judged_only_at_full_scale() -> None:
    slow = figures(
        full=Throughput(1_000, 700, 150),
        records=RecordCounts(2.3, 0.07, {}),
        state=State(1_000_000, 1_200_000_000, 0, 5, 20, 40),
    )
    verdicts = {v.target: v for v in judge(slow)}

    assert not verdicts["full pipeline ≥ 20% of the raw passthrough"].met
    assert not verdicts["≤ 150 µs of worker CPU per event"].met
    assert not verdicts["≤ 1.1 Kafka records produced per input event plus triggers"].met
    assert verdicts["1,000,000 customers in ≤ 1 GB RSS"].met is False
    assert verdicts["restart-to-ready ≤ 30 s with 1,000,000 customers, same data folder"].met is True
    assert verdicts["restart-to-ready ≤ 30 s with 1,000,000 customers, empty data folder"].met is False

    small = {v.target: v for v in judge(figures(state=State(20_000, 10**8, 0, 1, 2, 3)))}
    same = small["restart-to-ready ≤ 30 s with 1,000,000 customers, same data folder"]
    assert same.met is None
    assert same.measured == "3.0 s with 20,000 customers"


def test_report_has_the_table_the_figures_and_the_targets() -> None:
    text = render(figures(), DOC)

    assert "| worker CPU µs/event | broker CPU µs/event |" in text
    full = "| full hub pipeline (validate, re-key, record, decide, publish) |"
    assert f"{full} 8,000 | 3.20× | 20.0% | 140 | 120 |" in text
    assert "2 workers on 8 partitions" in text
    assert "1.12 records/event (of which triggers 0.07)" in text
    assert "offered at half the pipeline's measured saturation rate (4,000 events/s" in text
    assert "keyed by customer id (100 of 2,000 received) p50 26 ms" in text
    assert "keyed by another identifier (a second hop, 100 of 2,000 received) p50 51 ms" in text
    assert "skipped" in text
    assert "[profiles/bench-abc123.txt](profiles/bench-abc123.txt)" in text
    assert "| 90 | 90.0% | 90.0% | `b` |" in text
    assert "- met: latency p99 ≤ 150 ms" in text


def test_report_says_why_there_is_no_profile() -> None:
    text = render(figures(profile=Profile(None, Counter(), "py-spy exited: Permission denied")), DOC)

    assert "- Profile: not recorded: py-spy exited: Permission denied." in text


def test_report_gives_both_restarts_of_a_worker_holding_state() -> None:
    text = render(figures(state=State(1_000_000, 465_000_000, 58_000_000, 3.2, 4.2, 61.0)), DOC)

    assert "Worker holding 1,000,000 customers of state (one web login each): RSS 465 MB" in text
    assert "same data folder ready in 4.2 s (restart-to-ready 7.4 s)" in text
    assert "empty data folder (states read from PostgreSQL as they are needed) in 61.0 s" in text
    assert "in 61.0 s (restart-to-ready 64.2 s)" in text
    assert "- **missed**: restart-to-ready ≤ 30 s with 1,000,000 customers, empty data folder" in text


def backtest_run(seconds: float, cpu_seconds: float) -> BacktestRate:
    return BacktestRate(
        events=1_000_000,
        customers=20_000,
        seconds=seconds,
        cpu_seconds=cpu_seconds,
        peak_rss_bytes=80 * 2**20,
        decisions=150_000,
        jobs=2,
    )


def test_the_backtest_reports_its_median_run_whole_with_every_runs_rate() -> None:
    runs = [backtest_run(40.0, 60.0), backtest_run(25.0, 45.0), backtest_run(32.0, 52.0)]

    median = median_run(runs)
    line = backtest_line(median)

    assert median.seconds == 32.0 and median.cpu_seconds == 52.0  # one run's figures, not a mix
    assert median.rates == (25_000.0, 31_250.0, 40_000.0)
    assert "31,250 events/s, the median of 3 runs of 25,000, 31,250, 40,000 events/s" in line
    assert "CPU of its processes 52 µs/event" in line


def test_one_backtest_run_is_reported_as_it_is() -> None:
    run = backtest_run(20.0, 40.0)

    assert median_run([run]) == run
    assert "50,000 events/s (20.0 s;" in backtest_line(run)
    assert backtest_verdict(run).met is True
