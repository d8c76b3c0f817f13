"""The backtest report as one self-contained HTML page, for a marketing analyst.

No script and nothing fetched: the charts are inline SVG drawn here (daily volume per
rule, and each rule's proposals broken down by what the policy did), so the file opens
the same in any browser, offline, and can be mailed around.
"""

from datetime import date, datetime, timedelta
from html import escape

from hub.core.backtest.compare import RuleComparison, figure
from hub.core.backtest.report import BacktestReport
from hub.core.backtest.tally import RuleFigures
from hub.core.policy import POLICIES

# One colour per outcome or stopping policy, the same in every chart and legend.
COLOURS = {
    "published": "#2e7d32",
    "held_out": "#9e9e9e",
    "consent": "#c62828",
    "complaint_open": "#ad1457",
    "declined": "#6a1b9a",
    "once_per": "#283593",
    "frequency_cap": "#ef6c00",
    "channel_consent": "#00838f",
    "arbitration": "#f9a825",
    "group_cap": "#4e342e",
    "control_group": "#9e9e9e",
}
BREAKDOWN = ("published", *(p for p in POLICIES if p != "control_group"), "held_out")

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 1em 0; } th, td { padding: 4px 10px; text-align: right; }
th:first-child, td:first-child, td.text { text-align: left; } thead th { border-bottom: 2px solid #444; }
tbody tr:nth-child(odd) { background: #f6f6f6; } .up { color: #2e7d32; } .down { color: #c62828; }
.meta { color: #555; } .legend span { display: inline-block; margin-right: 1em; }
.legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: middle; }
.rule { margin: 1.5em 0; } .sample { color: #444; font-size: 0.92em; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
"""


def render_html(report: BacktestReport) -> str:
    shown = report.shown()
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Backtest of {escape(report.candidate.source)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Backtest of {escape(report.candidate.source)}</h1>",
        _meta(report),
        "<h2>Rules</h2>",
        _comparison_table(report, shown),
        "<h2>Daily volume per rule</h2>",
        '<p class="meta">Published triggers per day (dark) over proposals (light), candidate rules.</p>',
        _daily_charts(report, shown),
        "<h2>Suppression breakdown</h2>",
        _legend(),
        _breakdown_chart(shown),
        "<h2>Each rule</h2>",
        *(_rule_section(rule) for rule in shown),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _meta(report: BacktestReport) -> str:
    against = "(--against)" if report.diff_only else "(the rules in force)"
    return (
        '<p class="meta">'
        f"Candidate <code>{escape(report.candidate.source)}</code> (sha256 {report.candidate.sha256}) "
        f"against <code>{escape(report.current.source)}</code> {against} "
        f"(sha256 {report.current.sha256}).<br>"
        f"{report.events:,} stored events of {report.customers:,} customers ({escape(report.selection)}), "
        f"{_day(report.period_from)} to {_day(report.period_to)} ({report.days} day(s)); "
        f"{escape(report.start_state)}; each customer's events {escape(report.order)}.<br>"
        f"Replayed in {report.seconds:.1f} s ({report.rate:,.0f} events/s). Nothing was written or published."
        "</p>"
    )


def _comparison_table(report: BacktestReport, shown: list[RuleComparison]) -> str:
    head = (
        "<thead><tr><th>rule</th><th>change</th><th>would fire</th><th>published</th>"
        "<th>customers reached</th><th>per day</th><th>suppressed</th><th>held out</th></tr></thead>"
    )
    rows = []
    for rule in shown:
        new, old = rule.candidate, rule.current
        rows.append(
            f'<tr data-rule="{escape(rule.rule_id)}"><td>{escape(rule.rule_id)}</td>'
            f'<td class="text">{rule.change}</td>'
            f"<td>{_pair(figure(new, 'would_fire'), figure(old, 'would_fire'))}</td>"
            f"<td>{_pair(figure(new, 'published'), figure(old, 'published'))}</td>"
            f"<td>{_pair(figure(new, 'customers_reached'), figure(old, 'customers_reached'))}</td>"
            f"<td>{figure(new, 'published') / max(report.days, 1):.1f}</td>"
            f"<td>{_pair(_outcome(new, 'suppressed'), _outcome(old, 'suppressed'))}</td>"
            f"<td>{_pair(_outcome(new, 'held_out'), _outcome(old, 'held_out'))}</td></tr>"
        )
    if not rows:
        rows.append('<tr><td colspan="8">no rule changes what it would decide over this history</td></tr>')
    caption = "<caption>candidate figure (change from the current rules)</caption>"
    return f'<table id="rules">{caption}{head}<tbody>{"".join(rows)}</tbody></table>'


def _daily_charts(report: BacktestReport, shown: list[RuleComparison]) -> str:
    days = _all_days(shown)
    charts = []
    for rule in shown:
        if rule.candidate is None or not rule.candidate.would_fire:
            charts.append(f'<h3>{escape(rule.rule_id)}</h3><p class="meta">no proposals</p>')
            continue
        charts.append(f"<h3>{escape(rule.rule_id)}</h3>{_daily_chart(rule.candidate, days)}")
    return "\n".join(charts) or "<p>no proposals</p>"


def _daily_chart(figures: RuleFigures, days: list[date]) -> str:
    width, height, left, bottom = 960, 120, 40, 20
    top = max((figures.proposed_per_day[d] for d in days), default=0) or 1
    step = (width - left) / max(len(days), 1)
    bars = []
    for i, day in enumerate(days):
        x = left + i * step
        for kind, count, colour in (
            ("proposed", figures.proposed_per_day[day], "#c8e6c9"),
            ("published", figures.published_per_day[day], COLOURS["published"]),
        ):
            h = (height - bottom) * count / top
            bars.append(
                f'<rect class="{kind}" x="{x:.1f}" y="{height - bottom - h:.1f}" '
                f'width="{max(step - 1, 1):.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{day.isoformat()}: {count} {kind}</title></rect>"
            )
    labels = (
        f'<text x="0" y="12">{top}</text><text x="0" y="{height - bottom}">0</text>'
        f'<text x="{left}" y="{height - 4}">{days[0].isoformat() if days else ""}</text>'
        f'<text x="{width}" y="{height - 4}" text-anchor="end">{days[-1].isoformat() if days else ""}</text>'
    )
    return (
        f'<svg class="daily" data-rule="{escape(figures.rule_id)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="daily volume of {escape(figures.rule_id)}">'
        f"{labels}{''.join(bars)}</svg>"
    )


def _breakdown_chart(shown: list[RuleComparison]) -> str:
    rules = [r.candidate for r in shown if r.candidate is not None]
    width, row, label = 960, 24, 230
    top = max((f.would_fire for f in rules), default=0) or 1
    rows = []
    for i, figures in enumerate(rules):
        y = i * row
        x = float(label)
        parts = [f'<text x="0" y="{y + 16}">{escape(figures.rule_id)}</text>']
        for part in BREAKDOWN:
            count = figures.published if part == "published" else _stopped(figures, part)
            if not count:
                continue
            w = (width - label - 60) * count / top
            parts.append(
                f'<rect class="part" data-part="{part}" x="{x:.1f}" y="{y + 4}" width="{w:.1f}" '
                f'height="{row - 8}" fill="{COLOURS[part]}">'
                f"<title>{escape(figures.rule_id)}: {count} {part}</title></rect>"
            )
            x += w
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 16}">{figures.would_fire}</text>')
        rows.append(f'<g class="breakdown" data-rule="{escape(figures.rule_id)}">{"".join(parts)}</g>')
    height = max(len(rules), 1) * row
    return (
        f'<svg id="breakdown" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="proposals by what the policy did">{"".join(rows)}</svg>'
    )


def _stopped(figures: RuleFigures, part: str) -> int:
    # Held out is the control group's doing; the other parts are suppressions by policy.
    return figures.outcomes["held_out"] if part == "held_out" else figures.stopped_by[part]


def _legend() -> str:
    items = "".join(
        f'<span><i style="background:{COLOURS[part]}"></i>{part.replace("_", " ")}</span>'
        for part in BREAKDOWN
    )
    return f'<p class="legend">{items}</p>'


def _rule_section(rule: RuleComparison) -> str:
    figures = rule.candidate
    if figures is None:
        return (
            f'<div class="rule" id="rule-{escape(rule.rule_id)}"><h3>{escape(rule.rule_id)}</h3>'
            f"<p>Removed: the current rules published {figure(rule.current, 'published')}.</p></div>"
        )
    items = [
        f"{figures.would_fire} proposals, {figures.published} published to {figures.customers_reached} "
        f"customers, {figures.outcomes['suppressed']} suppressed, {figures.outcomes['held_out']} held out"
    ]
    if figures.published:
        items.append("Tiers: " + _shares(figures.by_tier, figures.published))
        items.append("Channels: " + _shares(figures.by_channel, figures.published))
    for other, o in sorted(figures.overlaps.items()):
        items.append(
            f"Overlaps <code>{escape(other)}</code> for {o.customers} customer(s) within 7 days: "
            f"of {o.pairs} pair(s) this went out {o.this_went_out}, the other {o.other_went_out}, "
            f"both {o.both_went_out}, "
            f"neither {o.neither_went_out}"
        )
    samples = "".join(
        f'<li class="sample">{s.at.isoformat()} {escape(s.customer_id)} ({s.tier}) <b>{s.outcome}</b>: '
        f"{escape(s.reason)}"
        + (f" &mdash; {escape(s.policy)}: {escape(s.detail)}" if s.policy else f" &mdash; via {s.channel}")
        + "</li>"
        for s in figures.samples
    )
    body = "".join(f"<li>{item}</li>" for item in items)
    return (
        f'<div class="rule" id="rule-{escape(rule.rule_id)}"><h3>{escape(rule.rule_id)} v{figures.version} '
        f"({figures.kind}, {rule.change})</h3><ul>{body}</ul><ul>{samples}</ul></div>"
    )


def _all_days(shown: list[RuleComparison]) -> list[date]:
    """Every day from the first to the last with a proposal (days as the tally counted them)."""
    seen = [day for r in shown if r.candidate is not None for day in r.candidate.proposed_per_day]
    if not seen:
        return []
    first = min(seen)
    return [first + timedelta(days=i) for i in range((max(seen) - first).days + 1)]


def _outcome(figures: RuleFigures | None, outcome: str) -> int:
    return figures.outcomes[outcome] if figures is not None else 0


def _pair(new: int, old: int) -> str:
    change = new - old
    if not change:
        return f"{new:,}"
    css = "up" if change > 0 else "down"
    return f'{new:,} <span class="{css}">({change:+,})</span>'


def _shares(counts: dict[str, int], total: int) -> str:
    return ", ".join(f"{escape(k)} {n / total:.0%}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def _day(value: datetime | None) -> str:
    return value.date().isoformat() if value is not None else "-"
