"""The backtest's result as plain data: what the terminal, ``--json`` and the HTML report show."""

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.core.backtest.compare import FIGURES, RuleComparison
from hub.core.backtest.tally import RuleFigures


@dataclass(frozen=True, slots=True)
class RuleSource:
    source: str
    sha256: str


@dataclass(frozen=True, slots=True)
class BacktestReport:
    candidate: RuleSource
    current: RuleSource
    """The rules in force (HUB_RULES_FILE or the shipped rules), or ``--against``."""
    diff_only: bool
    """``--against``: show only what changes."""
    period_from: datetime | None
    period_to: datetime | None
    days: int
    start_state: str
    """How the replay started, in words: from empty state, or warmed up on the days before."""
    selection: str
    order: str
    """How each customer's events were ordered: as the worker recorded them, or by event time."""
    customers: int
    events: int
    """Stored events replayed, the warm-up's included."""
    seconds: float
    rules: list[RuleComparison]

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def shown(self) -> list[RuleComparison]:
        """The rules to show: all of them, or in diff mode those whose definition or figures change."""
        if not self.diff_only:
            return self.rules
        return [r for r in self.rules if r.change != "unchanged" or r.figures_differ]

    def to_json(self) -> dict[str, Any]:
        return {
            "candidate": dataclasses.asdict(self.candidate),
            "current": dataclasses.asdict(self.current),
            "diff_only": self.diff_only,
            "period": {
                "from": _iso(self.period_from),
                "to": _iso(self.period_to),
                "days": self.days,
            },
            "start_state": self.start_state,
            "selection": self.selection,
            "order": self.order,
            "customers": self.customers,
            "events": self.events,
            "seconds": round(self.seconds, 3),
            "events_per_second": round(self.rate),
            "rules": [self._rule_json(r) for r in self.shown()],
        }

    def _rule_json(self, rule: RuleComparison) -> dict[str, Any]:
        return {
            "rule_id": rule.rule_id,
            "change": rule.change,
            "candidate": figures_json(rule.candidate, self.days),
            "current": figures_json(rule.current, self.days),
            "delta": {name: rule.delta(name) for name in FIGURES} | {"stopped_by": rule.stopped_delta()},
        }


def figures_json(figures: RuleFigures | None, days: int) -> dict[str, Any] | None:
    if figures is None:
        return None
    published = figures.published
    return {
        "version": figures.version,
        "kind": figures.kind,
        "would_fire": figures.would_fire,
        "published": published,
        "suppressed": figures.outcomes["suppressed"],
        "held_out": figures.outcomes["held_out"],
        "stopped_by": dict(sorted(figures.stopped_by.items())),
        "customers_proposed": figures.customers_proposed,
        "customers_reached": figures.customers_reached,
        "published_per_day": round(published / max(days, 1), 2),
        "daily": {
            day.isoformat(): {"proposed": n, "published": figures.published_per_day[day]}
            for day, n in sorted(figures.proposed_per_day.items())
        },
        "by_tier": _shares(figures.by_tier, published),
        "by_channel": _shares(figures.by_channel, published),
        "overlaps": {
            other: dataclasses.asdict(overlap) for other, overlap in sorted(figures.overlaps.items())
        },
        "samples": [
            dataclasses.asdict(s) | {"at": s.at.isoformat(), "evidence": list(s.evidence)}
            for s in figures.samples
        ],
    }


def _shares(counts: dict[str, int], total: int) -> dict[str, dict[str, float | int]]:
    return {
        key: {"count": n, "share": round(n / total, 4) if total else 0.0} for key, n in sorted(counts.items())
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
