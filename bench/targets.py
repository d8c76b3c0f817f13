"""The targets of the benchmark (deliverable 6), each judged met or missed on one run."""

import math
from dataclasses import dataclass

from bench.figures import BacktestRate, Figures

STATE_CUSTOMERS = 1_000_000


@dataclass(frozen=True, slots=True)
class Verdict:
    target: str
    measured: str
    met: bool | None
    """None: not judged in this run (skipped, or measured on another scale)."""

    @property
    def word(self) -> str:
        return {True: "met", False: "**missed**", None: "not judged"}[self.met]


def _at_most(value: float | None, bound: float) -> bool | None:
    return None if value is None or math.isnan(value) else value <= bound


def judge(f: Figures) -> list[Verdict]:
    return [
        Verdict(
            "full pipeline ≥ 20% of the raw passthrough",
            f"{f.full.rate / f.raw.rate:.1%}",
            f.full.rate >= 0.2 * f.raw.rate,
        ),
        Verdict(
            "full pipeline ≥ 3× the minimal Faust agent",
            f"{f.full.rate / f.minimal.rate:.2f}×",
            f.full.rate >= 3 * f.minimal.rate,
        ),
        Verdict("≤ 150 µs of worker CPU per event", _us(f.full.worker_us), _at_most(f.full.worker_us, 150)),
        Verdict(
            "≤ 1.1 Kafka records produced per input event plus triggers",
            f"{f.records.without_triggers:.2f} + triggers {f.records.triggers_per_event:.2f}",
            f.records.without_triggers <= 1.1,
        ),
        Verdict("latency p50 ≤ 50 ms", f"{f.latency.ms(0.50):.0f} ms", _at_most(f.latency.ms(0.50), 50)),
        Verdict("latency p99 ≤ 150 ms", f"{f.latency.ms(0.99):.0f} ms", _at_most(f.latency.ms(0.99), 150)),
        *_state_verdicts(f),
        backtest_verdict(f.backtest),
    ]


BACKTEST_EVENTS_PER_S = 50_000


def backtest_verdict(rate: BacktestRate | None) -> Verdict:
    target = f"backtest ≥ {BACKTEST_EVENTS_PER_S:,} stored events/s"
    if rate is None:
        return Verdict(target, "skipped", None)
    return Verdict(target, f"{rate.rate:,.0f} events/s", rate.rate >= BACKTEST_EVENTS_PER_S)


def _state_verdicts(f: Figures) -> list[Verdict]:
    rss_target = "1,000,000 customers in ≤ 1 GB RSS"
    restart_target = "restart-to-ready ≤ 30 s with 1,000,000 customers, same data folder"
    empty_target = "restart-to-ready ≤ 30 s with 1,000,000 customers, empty data folder"
    if f.state is None:
        return [Verdict(target, "skipped", None) for target in (rss_target, restart_target, empty_target)]
    state = f.state
    full_scale = state.customers >= STATE_CUSTOMERS
    scale = "" if full_scale else f" with {state.customers:,} customers"
    return [
        Verdict(
            rss_target, f"{state.rss_bytes / 1e6:,.0f} MB{scale}", _scaled(state.rss_bytes <= 1e9, full_scale)
        ),
        Verdict(
            restart_target,
            f"{state.restart_to_ready_s:.1f} s{scale}",
            _scaled(state.restart_to_ready_s <= 30, full_scale),
        ),
        Verdict(
            empty_target,
            f"{state.empty_restart_to_ready_s:.1f} s{scale}",
            _scaled(state.empty_restart_to_ready_s <= 30, full_scale),
        ),
    ]


def _scaled(met: bool, full_scale: bool) -> bool | None:
    return met if full_scale else None


def _us(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.0f} µs"
