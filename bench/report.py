"""One run's section of docs/benchmarks.md."""

import os
import platform
from datetime import UTC, datetime
from pathlib import Path

import hub.core
from bench.figures import BacktestRate, Figures, State, Throughput
from bench.latency import PROBE_EVERY
from bench.profile import Profile, top_functions
from bench.targets import judge

TOP_FUNCTIONS = 15


def _us(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _row(name: str, t: Throughput, f: Figures) -> str:
    return (
        f"| {name} | {t.rate:,.0f} | {t.rate / f.minimal.rate:.2f}× | {t.rate / f.raw.rate:.1%} | "
        f"{_us(t.worker_us)} | {_us(t.broker_us)} |"
    )


def throughput_table(f: Figures) -> list[str]:
    return [
        "| measurement | events/s | vs. minimal Faust agent | vs. raw passthrough "
        "| worker CPU µs/event | broker CPU µs/event |",
        "|---|---:|---:|---:|---:|---:|",
        _row("raw aiokafka passthrough (ceiling)", f.raw, f),
        _row("minimal Faust agent (forward each event)", f.minimal, f),
        _row("full hub pipeline (validate, re-key, record, decide, publish)", f.full, f),
        _row(
            f"full hub pipeline, {f.group_workers} workers on {f.group_partitions} partitions "
            "(CPU of both workers)",
            f.group,
            f,
        ),
    ]


def records_line(f: Figures) -> str:
    by_topic = ", ".join(f"`{name}` {share:.2f}" for name, share in f.records.by_topic.items())
    return (
        f"- Kafka records produced per input event by the full pipeline: "
        f"{f.records.per_event:.2f} records/event (of which triggers {f.records.triggers_per_event:.2f}); "
        f"by topic: {by_topic or 'none'}."
    )


def latency_line(f: Figures) -> str:
    home, rekeyed = f.latency, f.latency_rekeyed
    return (
        f"- Event-to-trigger latency with live traffic offered at half the pipeline's measured "
        f"saturation rate ({home.offered_rate:,.0f} events/s; every {PROBE_EVERY}th a complaint, "
        f"its care trigger timed to its receipt on `triggers.care`): keyed by customer id "
        f"({len(home.seconds):,} of {home.offered:,} received) p50 {home.ms(0.50):.0f} ms, "
        f"p95 {home.ms(0.95):.0f} ms, p99 {home.ms(0.99):.0f} ms; keyed by another identifier "
        f"(a second hop, {len(rekeyed.seconds):,} of {rekeyed.offered:,} received) "
        f"p50 {rekeyed.ms(0.50):.0f} ms, p95 {rekeyed.ms(0.95):.0f} ms, p99 {rekeyed.ms(0.99):.0f} ms."
    )


def backtest_line(rate: BacktestRate | None) -> str:
    if rate is None:
        return "- Backtest over a stored history: skipped (set BENCH_BACKTEST_EVENTS, e.g. 1000000)."
    per_event = rate.cpu_seconds * 1e6 / max(rate.events, 1)
    runs = ""
    if len(rate.rates) > 1:
        runs = (
            f", the median of {len(rate.rates)} runs of "
            f"{', '.join(f'{r:,.0f}' for r in rate.rates)} events/s; its figures follow"
        )
    return (
        f"- Backtest (`hub backtest --jobs {rate.jobs}`: the shipped rules with {rate.change}, against the "
        f"shipped rules, each set with its own state) over a stored history of {rate.events:,} events of "
        f"{rate.customers:,} customers: {rate.rate:,.0f} events/s{runs} ({rate.seconds:.1f} s; CPU of its "
        f"processes {per_event:.0f} µs/event, PostgreSQL's not included; largest RSS of its processes "
        f"{rate.peak_rss_bytes / 2**20:,.0f} MB; {rate.decisions:,} decisions of the candidate rules)."
    )


def state_line(state: State | None) -> str:
    if state is None:
        return "- Worker holding many customers of state: skipped (set BENCH_STATE_CUSTOMERS, e.g. 1000000)."
    return (
        f"- Worker holding {state.customers:,} customers of state (one web login each): "
        f"RSS {state.rss_bytes / 1e6:,.0f} MB, data folder {state.data_bytes / 1e6:,.0f} MB; "
        f"SIGTERM to exit {state.stop_s:.1f} s; a new worker on the same data folder ready in "
        f"{state.start_to_ready_s:.1f} s (restart-to-ready {state.restart_to_ready_s:.1f} s), one on an "
        f"empty data folder (states read from PostgreSQL as they are needed) in "
        f"{state.empty_start_to_ready_s:.1f} s "
        f"(restart-to-ready {state.empty_restart_to_ready_s:.1f} s)."
    )


def profile_lines(profile: Profile, profiler_us: float | None, doc: Path) -> list[str]:
    if profile.path is None:
        return [f"- Profile: not recorded: {profile.problem}."]
    link = os.path.relpath(profile.path, doc.parent)
    lines = [
        f"- Profile of the single worker over the measured window (py-spy, {profile.samples:,} samples "
        f"at 100 Hz, idle threads left out; py-spy's own CPU {_us(profiler_us)} µs/event): "
        f"[{link}]({link}).",
        "",
        f"Top {TOP_FUNCTIONS} functions by own samples:",
        "",
        "| own samples | share | with callees | function |",
        "|---:|---:|---:|---|",
    ]
    for top in top_functions(profile.stacks, TOP_FUNCTIONS):
        name = top.function.replace("|", "\\|").replace("`", "'")
        own, total = top.own / profile.samples, top.total / profile.samples
        lines.append(f"| {top.own:,} | {own:.1%} | {total:.1%} | `{name}` |")
    return lines


def python_described() -> str:
    """The interpreter, and whether the decision core ran compiled (it changes every CPU figure)."""
    core = "the core compiled by mypyc" if hub.core.COMPILED else "the core from its Python sources"
    return f"Python {platform.python_version()} ({core})"


def render(f: Figures, doc: Path) -> str:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {python_described()}"
    return "\n".join(
        [
            f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {machine}, "
            "local Apache Kafka 4.1.1 (KRaft), PostgreSQL 18",
            "",
            f"Run `{f.run}`: {f.events} simulated interactions over {f.partitions} partitions.",
            "",
            *throughput_table(f),
            "",
            records_line(f),
            f"- PostgreSQL CPU per event: full pipeline {_us(f.full.postgres_us)} µs, "
            f"{f.group_workers} workers {_us(f.group.postgres_us)} µs.",
            latency_line(f),
            state_line(f.state),
            backtest_line(f.backtest),
            *([backtest_line(f.backtest_every_rule)] if f.backtest_every_rule is not None else []),
            *profile_lines(f.profile, f.profiler_us, doc),
            "",
            "Targets:",
            "",
            *(f"- {v.word}: {v.target} (measured: {v.measured})" for v in judge(f)),
            "",
        ]
    )
