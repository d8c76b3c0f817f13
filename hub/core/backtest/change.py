"""Where two rule sets can decide differently: the rules that differ, and the events they act on.

A backtest replays each customer under the candidate rules and under the rules in
force. A rule acts on a customer only through the events it counts, is answered by, or is
met by when the customer's profile holds the rule's condition (an annual rule through
every event), and the fold is deterministic: when no
rule that differs between the two sets acts on any of a customer's events, the two sets
make the very same decisions for the customer, who is then replayed once and counted
for both. Up to the first event such a rule acts on, the two replays are the same too:
that part is replayed once, and the replay forks there. A typical change (one
threshold, one new moment) acts on some customers from some point on, so a backtest of
it costs much less than two replays.

The rules the sets have in common must come in the same order, since the drafts of one
event are judged in rule-file order; and the tiers, rates, policy and time zone must be
the same. Otherwise every customer is replayed twice.
"""

from collections.abc import Callable, Sequence
from dataclasses import replace

from hub.core.backtest.replay import CustomerHistory
from hub.core.decide import DecisionConfig
from hub.core.rules.engine import conditions_of
from hub.core.rules.matching import Compiled, profile_holds
from hub.core.rules.spec import ProfileCondition, RuleSpec
from hub.core.tiers import tier_of
from schemas.profile import CustomerProfile


def changed_rule_ids(candidate: Sequence[RuleSpec], current: Sequence[RuleSpec]) -> frozenset[str]:
    """The ids whose rules (every rule of the id, in order) are not the same in both sets."""
    before, after = _by_id(current), _by_id(candidate)
    return frozenset(
        rule_id for rule_id in before.keys() | after.keys() if before.get(rule_id) != after.get(rule_id)
    )


def _by_id(rules: Sequence[RuleSpec]) -> dict[str, tuple[RuleSpec, ...]]:
    found: dict[str, tuple[RuleSpec, ...]] = {}
    for rule in rules:
        found[rule.id] = (*found.get(rule.id, ()), rule)
    return found


class RuleChange:
    """What differs between a candidate's decision config and the one in force."""

    def __init__(self, candidate: DecisionConfig, current: DecisionConfig) -> None:
        self._sets = (candidate.rules, current.rules)
        self._rates, self._tiers = current.rates, current.tiers
        self.changed = changed_rule_ids(candidate.rules, current.rules)
        in_common = [[rule for rule in rules if rule.id not in self.changed] for rules in self._sets]
        self.everything = in_common[0] != in_common[1] or replace(candidate, rules=current.rules) != current
        """Whether every customer may be decided differently (not just those the changed rules act on)."""
        self._conditions: dict[tuple[str, str], list[tuple[Compiled, ProfileCondition | None]]] = {}

    @property
    def nothing(self) -> bool:
        return not self.everything and not self.changed

    def first_acted_on(self, history: CustomerHistory) -> int | None:
        """The index of the first of the customer's events a changed rule, in either set,
        may act on; None when there is none (the two sets decide all of them the same)."""
        events = history.events
        if self.everything:
            return 0 if events else None
        if not self.changed:
            return None
        rates, holds = self._rates, self._profile_test(history.profile)
        for index, item in enumerate(events):
            event = item.event
            for condition, who in self._conditions_for(event.channel, event.type):
                if (who is None or holds(who)) and (
                    condition is True or (condition is not False and condition(event, rates))
                ):
                    return index
        return None

    def _profile_test(self, profile: CustomerProfile | None) -> Callable[[ProfileCondition], bool]:
        """Whether a rule's profile condition holds for the customer (the same all through
        their replay: the profile is the one stored)."""
        tier = tier_of(profile, self._tiers, rates=self._rates)
        known: dict[int, bool] = {}

        def holds(condition: ProfileCondition) -> bool:
            if id(condition) not in known:
                known[id(condition)] = profile_holds(condition, profile, tier)
            return known[id(condition)]

        return holds

    def _conditions_for(self, channel: str, type_: str) -> list[tuple[Compiled, ProfileCondition | None]]:
        conditions = self._conditions.get((channel, type_))
        if conditions is None:
            conditions = self._conditions[channel, type_] = [
                condition
                for rules in self._sets
                for condition in conditions_of(rules, self.changed, channel, type_)
            ]
        return conditions
