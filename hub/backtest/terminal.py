"""The backtest report on the terminal: one table of rules, then each rule's details."""

from datetime import datetime

from rich import box
from rich.console import Console
from rich.table import Table

from hub.core.backtest.compare import RuleComparison, figure
from hub.core.backtest.report import BacktestReport
from hub.core.backtest.tally import RuleFigures

SAMPLES_SHOWN = 2


def print_report(report: BacktestReport, console: Console) -> None:
    console.print(_heading(report), highlight=False, soft_wrap=True)
    if not report.events:
        console.print("no stored events in this window: nothing to replay", highlight=False)
        return
    shown = report.shown()
    if not shown:
        console.print("no rule changes what it would decide over this history", highlight=False)
        return
    console.print(_table(report, shown))
    for rule in shown:
        for line in _details(rule, report.days):
            console.print(line, highlight=False, markup=False, soft_wrap=True)


def _heading(report: BacktestReport) -> str:
    period = f"{_day(report.period_from)} to {_day(report.period_to)} ({report.days} day(s))"
    against = "--against" if report.diff_only else "rules in force"
    return (
        f"backtest of {report.candidate.source} (sha256 {report.candidate.sha256}) against "
        f"{report.current.source} ({against}, sha256 {report.current.sha256})\n"
        f"{report.events:,} stored events of {report.customers:,} customers ({report.selection}), "
        f"{period}; {report.start_state}; each customer's events {report.order}\n"
        f"replayed in {report.seconds:.1f} s ({report.rate:,.0f} events/s); "
        "nothing written, nothing published"
    )


def _table(report: BacktestReport, shown: list[RuleComparison]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("rule")
    table.add_column("change")
    for name in ("would fire", "published", "customers", "per day"):
        table.add_column(name, justify="right")
    table.add_column("stopped by policy (candidate)")
    for rule in shown:
        new, old = rule.candidate, rule.current
        table.add_row(
            rule.rule_id,
            rule.change,
            _pair(figure(new, "would_fire"), figure(old, "would_fire")),
            _pair(figure(new, "published"), figure(old, "published")),
            _pair(figure(new, "customers_reached"), figure(old, "customers_reached")),
            f"{figure(new, 'published') / max(report.days, 1):.1f}",
            _stopped(new) if not report.diff_only else _stopped_change(rule),
        )
    table.caption = "each figure: candidate (change from the current rules)"
    return table


def _details(rule: RuleComparison, days: int) -> list[str]:
    figures = rule.candidate
    if figures is None:
        return [f"\n{rule.rule_id}: removed; the current rules published {figure(rule.current, 'published')}"]
    lines = [
        f"\n{rule.rule_id} v{figures.version} ({figures.kind}): {figures.would_fire} proposals, "
        f"{figures.published} published to {figures.customers_reached} customers, "
        f"{figures.outcomes['suppressed']} suppressed, {figures.outcomes['held_out']} held out"
    ]
    if figures.published:
        lines.append(f"  tiers: {_shares(figures.by_tier, figures.published)}")
        lines.append(f"  channels: {_shares(figures.by_channel, figures.published)}")
    for other, overlap in sorted(figures.overlaps.items()):
        lines.append(
            f"  overlaps {other} for {overlap.customers} customer(s) within 7 days: "
            f"of {overlap.pairs} pair(s), this went out {overlap.this_went_out}, "
            f"{other} {overlap.other_went_out}, "
            f"both {overlap.both_went_out}, neither {overlap.neither_went_out}"
        )
    for sample in figures.samples[:SAMPLES_SHOWN]:
        why = f"{sample.policy}: {sample.detail}" if sample.policy else f"via {sample.channel}"
        lines.append(
            f"  e.g. {sample.at.isoformat()} {sample.customer_id} ({sample.tier}) {sample.outcome.upper()} "
            f"- {sample.reason} [{why}]"
        )
    return lines


def _pair(new: int, old: int) -> str:
    change = new - old
    return f"{new:,}" + (f" ({change:+,})" if change else "")


def _stopped(figures: RuleFigures | None) -> str:
    if figures is None or not figures.stopped_by:
        return "-"
    return ", ".join(f"{policy} {n}" for policy, n in sorted(figures.stopped_by.items()))


def _stopped_change(rule: RuleComparison) -> str:
    return ", ".join(f"{policy} {n:+}" for policy, n in rule.stopped_delta().items()) or "-"


def _shares(counts: dict[str, int], total: int) -> str:
    return ", ".join(f"{key} {n / total:.0%}" for key, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def _day(value: datetime | None) -> str:
    return value.date().isoformat() if value is not None else "-"
