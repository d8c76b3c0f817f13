"""``hub explain`` and ``hub report``: the decision log, for people and scripts."""

import dataclasses
import json
from datetime import datetime

import click

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
        treated, control = (
            _rate(row["converted_published"], row["published"]),
            _rate(row["converted_held_out"], row["held_out"]),
        )
        row["conversion_published"], row["conversion_held_out"] = treated, control
        row["lift"] = None if treated is None or control is None else treated - control
        if as_json:
            click.echo(json.dumps(row))
            continue
        suppressed = ", ".join(f"{k} {v}" for k, v in sorted(row["suppressed_by"].items())) or "none"
        click.echo(
            f"{row['rule_id']}\n"
            f"  decisions {row['decisions']}: published {row['published']}, held out {row['held_out']}, "
            f"suppressed {row['suppressed']} ({suppressed})\n"
            f"  outcomes: accepted {row['accepted']}, declined {row['declined']}"
        )
        if row["offers"]:  # care has no product to convert to
            click.echo(
                f"  conversion: published {_pct(treated)}, control group {_pct(control)}, "
                f"lift {_pct(row['lift'])}"
            )


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1%}" if value < 0 else f"{value:.1%}"
