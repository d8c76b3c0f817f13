"""A candidate rule file set against the rules in force, over the same history."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from hub.core.backtest.tally import RuleFigures, Tally
from hub.core.rules.spec import RuleSpec

Change = Literal["added", "removed", "changed", "unchanged"]


@dataclass(frozen=True, slots=True)
class RuleComparison:
    rule_id: str
    change: Change
    """What the candidate file did to the rule's definition."""
    candidate: RuleFigures | None
    current: RuleFigures | None

    @property
    def figures_differ(self) -> bool:
        """True when the rule would do something else, even if its definition is the same:
        a changed rule next to it takes the caps or wins arbitration."""
        return _key_figures(self.candidate) != _key_figures(self.current)

    def delta(self, name: str) -> int:
        return figure(self.candidate, name) - figure(self.current, name)

    def stopped_delta(self) -> dict[str, int]:
        """Change in proposals stopped, per policy (only those that changed)."""
        before = self.current.stopped_by if self.current else {}
        after = self.candidate.stopped_by if self.candidate else {}
        policies = sorted(set(before) | set(after))
        return {
            p: after.get(p, 0) - before.get(p, 0) for p in policies if after.get(p, 0) != before.get(p, 0)
        }


FIGURES = ("would_fire", "published", "customers_reached")


def rule_changes(candidate: Sequence[RuleSpec], current: Sequence[RuleSpec]) -> dict[str, Change]:
    """Per rule id: added, removed, changed (any field, enabled included) or unchanged."""
    new = {rule.id: rule for rule in candidate}
    old = {rule.id: rule for rule in current}
    changes: dict[str, Change] = {}
    for rule_id in [*new, *(r for r in old if r not in new)]:
        if rule_id not in old:
            changes[rule_id] = "added"
        elif rule_id not in new:
            changes[rule_id] = "removed"
        else:
            changes[rule_id] = "unchanged" if new[rule_id] == old[rule_id] else "changed"
    return changes


def compare(
    candidate_rules: Sequence[RuleSpec],
    current_rules: Sequence[RuleSpec],
    candidate: Tally,
    current: Tally,
) -> list[RuleComparison]:
    """Every rule of either file (and any rule id that decided), candidate order first."""
    changes = rule_changes(candidate_rules, current_rules)
    for rule_id in [*candidate.rules, *current.rules]:
        changes.setdefault(rule_id, "unchanged")
    return [
        RuleComparison(
            rule_id,
            change,
            _figures(candidate, candidate_rules, rule_id),
            _figures(current, current_rules, rule_id),
        )
        for rule_id, change in changes.items()
    ]


def _figures(tally: Tally, rules: Sequence[RuleSpec], rule_id: str) -> RuleFigures | None:
    """The rule's figures; zeros for a rule of the file that never proposed, None for one not in it."""
    found = tally.rules.get(rule_id)
    if found is not None:
        return found
    spec = next((rule for rule in rules if rule.id == rule_id), None)
    return RuleFigures(rule_id, spec.version, spec.trigger.kind) if spec is not None else None


def figure(figures: RuleFigures | None, name: str) -> int:
    """One of :data:`FIGURES` of a rule, 0 for a rule absent from that side."""
    if figures is None:
        return 0
    value = figures.published if name == "published" else getattr(figures, name)
    assert isinstance(value, int)
    return value


def _key_figures(figures: RuleFigures | None) -> tuple[object, ...]:
    if figures is None:
        return (0, {}, {}, 0)
    return (figures.would_fire, dict(figures.outcomes), dict(figures.stopped_by), figures.customers_reached)
