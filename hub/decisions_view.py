"""``hub explain`` and ``hub report``: the decision log, for people and scripts."""

import dataclasses
import json
from datetime import datetime

import click

from hub.core.evidence import Interval, Lift, Rate, lift
from hub.settings import Settings
from hub.storage.customer_reads import CustomerReads
from hub.storage.history import HistoryStore

OUTCOME_MARK = {"published": "SENT", "suppressed": "STOP", "held_out": "HELD"}


async def print_explanation(settings: Settings, customer_id: str, *, as_json: bool, limit: int) -> None:
    """Read as the API does: a merged customer's decisions with the survivor's."""
    async with HistoryStore.connected(settings.require_database_url()) as store:
        reads = CustomerReads(store)
        who = await reads.customer_ids(customer_id)
        rows = await reads.decisions(who.ids, limit=limit) if who is not None else []
    if not rows and not as_json:
        click.echo(f"no decisions recorded for {customer_id}")
    for row in rows:
        if as_json:
            click.echo(json.dumps(dataclasses.asdict(row), default=_iso))
            continue
        why = f"  {row.policy}: {row.detail}" if row.policy else f"  via {row.channel}"
        product = f" {row.product}" if row.product else ""
        feedback = f"  [{', '.join(row.outcomes)}]" if row.outcomes else ""
        click.echo(
            f"{row.decided_at.isoformat()}  {OUTCOME_MARK[row.outcome]}  {row.kind}{product}  "
            f"{row.rule_id} v{row.rule_version}  tier {row.tier}{feedback}\n"
            f"    reason: {row.reason}\n    evidence: {', '.join(row.evidence)}\n  {why}"
        )


async def print_report(settings: Settings, *, as_json: bool) -> None:
    async with HistoryStore.connected(settings.require_database_url()) as store:
        rows = await store.report()
    for row in rows:
        row["suppressed_by"] = json.loads(row["suppressed_by"])
        told = lift(
            row["converted_published"],
            row["published"],
            row["converted_held_out"],
            row["held_out"],
            control_customers=row["held_out_customers"],
        )
        if as_json:
            click.echo(json.dumps(row | _evidence(told, offers=row["offers"] > 0)))
            continue
        suppressed = ", ".join(f"{k} {v}" for k, v in sorted(row["suppressed_by"].items())) or "none"
        click.echo(
            f"{row['rule_id']}\n"
            f"  decisions {row['decisions']}: published {row['published']}, held out {row['held_out']} "
            f"({row['held_out_customers']} customers), suppressed {row['suppressed']} ({suppressed})\n"
            f"  outcomes: accepted {row['accepted']}, declined {row['declined']}"
        )
        if row["offers"]:  # care has no product to convert to
            click.echo(report_evidence(told))


def report_evidence(told: Lift) -> str:
    """The conversion lines of a rule in ``hub report``: rates and lift with 95% intervals."""
    lines = [
        f"  conversion: published {_rate(told.published)}, control group {_rate(told.control)}",
        f"  lift {_pct(told.lift)}" + (f" (95% CI {_interval(told.interval)})" if told.interval else ""),
    ]
    if told.warning:
        lines.append(f"  warning: {told.warning}")
    return "\n".join(lines)


def _evidence(told: Lift, *, offers: bool) -> dict[str, object]:
    def rate(found: Rate | None) -> float | None:
        return found.value if found else None

    def bounds(interval: Interval | None) -> list[float] | None:
        return [interval.low, interval.high] if interval else None

    return {
        "conversion_published": rate(told.published),
        "conversion_published_ci95": bounds(told.published.interval if told.published else None),
        "conversion_held_out": rate(told.control),
        "conversion_held_out_ci95": bounds(told.control.interval if told.control else None),
        "lift": told.lift,
        "lift_ci95": bounds(told.interval),
        "warning": told.warning if offers else None,
    }


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _rate(found: Rate | None) -> str:
    if found is None:
        return "n/a (none)"
    return f"{found.successes}/{found.trials} = {_pct(found.value)} (95% CI {_interval(found.interval)})"


def _interval(interval: Interval | None) -> str:
    return "n/a" if interval is None else f"{_pct(interval.low)} to {_pct(interval.high)}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1%}" if value < 0 else f"{value:.1%}"
