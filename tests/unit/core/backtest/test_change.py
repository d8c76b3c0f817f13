"""A backtest replays once what two rule sets decide the same, and decides as two full replays."""

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import yaml

from hub.core.backtest.change import RuleChange, changed_rule_ids
from hub.core.backtest.replay import CustomerHistory, Decline, clean_cut, replay_customer
from hub.core.backtest.session import Backtest
from hub.core.decide import DecisionConfig
from hub.core.records import ReceivedEvent
from hub.core.rules.spec import RuleSpec
from hub.rules.loading import default_rules_text, parse_rules
from hub.settings import PolicySettings
from hub.simulate import TrafficGenerator
from schemas.interaction import INTERACTION_ADAPTER
from schemas.profile import CustomerProfile
from tests.factories import NOW
from tests.unit.core.backtest.history import at, big_deposit, history
from tests.unit.core.decisions import config

WALK_IN = "high_value_walk_in_rm_referral"


def _shipped() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(default_rules_text())
    return loaded


def _rules(change: Callable[[dict[str, Any]], None]) -> list[RuleSpec]:
    rules = _shipped()
    change(rules)
    return parse_rules(yaml.safe_dump(rules), source="test").rules


def _rule(rules: dict[str, Any], rule_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(r for r in rules["rules"] if r["id"] == rule_id)
    return found


def _raise_walk_in(rules: dict[str, Any]) -> None:
    walk_in = _rule(rules, WALK_IN)
    walk_in["version"] += 1
    walk_in["when"]["event"]["money_at_least"]["amount"] = "100000"


def _drop_complaint_follow_up(rules: dict[str, Any]) -> None:
    rules["rules"] = [r for r in rules["rules"] if r["id"] != "complaint_follow_up"]


def _disable_abandoned_application(rules: dict[str, Any]) -> None:
    _rule(rules, "abandoned_application")["enabled"] = False


def _greet_at_ten(rules: dict[str, Any]) -> None:
    _rule(rules, "birthday_greeting")["when"]["annual"]["local_time"] = "10:00"


def _reorder(rules: dict[str, Any]) -> None:
    rules["rules"].reverse()


def _unchanged(rules: dict[str, Any]) -> None:
    pass


def _with_rules(rules: list[RuleSpec]) -> DecisionConfig:
    base = config()
    return DecisionConfig(rules, base.tiers, base.rates, base.policy, base.default_zone)


def _histories() -> list[CustomerHistory]:
    """Simulated customers over a few weeks; some with events recorded out of event-time
    order (late arrivals) and some with declined offers, which split their replays."""
    generator = TrafficGenerator(40, seed=5, start=NOW, bad_share=0, duplicate_share=0, by_customer_id=True)
    profiles = {}
    for record in generator.profiles():
        raw = json.loads(record.value)
        raw["identifiers"] = {}
        profiles[raw["customer_id"]] = CustomerProfile.model_validate(raw)
    events: dict[str, list[ReceivedEvent]] = {}
    for record in generator.events(2400):
        event = INTERACTION_ADAPTER.validate_json(record.value)
        cid = event.customer.customer_id
        assert cid is not None
        events.setdefault(cid, []).append(ReceivedEvent(event, event.occurred_at, "t", 0, 0, shard=0))
    found = []
    for n, (cid, own) in enumerate(sorted(events.items())):
        if n % 3 == 1:  # every third event arrived after the next one
            for i in range(0, len(own) - 1, 3):
                own[i], own[i + 1] = own[i + 1], own[i]
        declines: tuple[Decline, ...] = ()
        if n % 4 == 2:
            middle = own[len(own) // 2].event.occurred_at
            declines = (Decline("wealth_account", middle, middle + timedelta(days=90)),)
        found.append(CustomerHistory(cid, 0, profiles[cid], own, declines))
    return found


HISTORIES = _histories()
HORIZON = max(e.event.occurred_at for h in HISTORIES for e in h.events) + timedelta(hours=1)


@pytest.mark.parametrize(
    "change",
    [
        _raise_walk_in,
        _drop_complaint_follow_up,
        _disable_abandoned_application,
        _greet_at_ten,
        _reorder,
        _unchanged,
    ],
)
def test_a_backtest_decides_what_a_full_replay_under_each_rule_set_decides(
    change: Callable[[dict[str, Any]], None],
) -> None:
    candidate, current = _with_rules(_rules(change)), config()
    backtest = Backtest(candidate, current, horizons={0: HORIZON}, since=None, zone=current.default_zone)

    for one in HISTORIES:
        replayed = backtest.add(one)
        assert replayed.candidate == replay_customer(one, candidate, HORIZON)
        assert replayed.current == replay_customer(one, current, HORIZON)


def test_the_walk_in_change_is_replayed_once_for_some_customers_and_forked_for_others() -> None:
    change = RuleChange(_with_rules(_rules(_raise_walk_in)), config())
    firsts = [change.first_acted_on(one) for one in HISTORIES]

    assert change.changed == {WALK_IN} and not change.everything
    assert None in firsts  # never acted on: one replay
    # The referral is for customers without an RM: it never acts on those who have one.
    with_rm = [
        first for one, first in zip(HISTORIES, firsts, strict=True) if one.profile and one.profile.rm_id
    ]
    assert with_rm and set(with_rm) == {None}
    assert any(first is not None and first > 0 for first in firsts)  # forked after a shared part


def test_a_changed_annual_rule_or_a_new_order_may_change_every_decision() -> None:
    assert RuleChange(_with_rules(_rules(_greet_at_ten)), config()).first_acted_on(HISTORIES[0]) == 0
    reordered = RuleChange(_with_rules(_rules(_reorder)), config())
    assert reordered.everything and reordered.first_acted_on(HISTORIES[0]) == 0


def test_another_policy_may_change_every_decision() -> None:
    stricter = config()
    stricter = DecisionConfig(
        stricter.rules,
        stricter.tiers,
        stricter.rates,
        PolicySettings(control_share=0.5),
        stricter.default_zone,
    )
    assert RuleChange(stricter, config()).everything


def test_the_changed_rules_are_those_added_removed_or_different() -> None:
    shipped = config().rules
    assert changed_rule_ids(shipped, shipped) == frozenset()
    assert changed_rule_ids(_rules(_raise_walk_in), shipped) == {WALK_IN}
    assert changed_rule_ids(_rules(_drop_complaint_follow_up), shipped) == {"complaint_follow_up"}
    assert changed_rule_ids(_rules(_disable_abandoned_application), shipped) == {"abandoned_application"}
    assert RuleChange(config(), config()).nothing


def test_events_in_event_time_order_can_be_cut_anywhere_and_late_ones_only_before_them() -> None:
    in_order = [big_deposit("C1", at(day), f"e{day}") for day in range(5)]
    assert [clean_cut(in_order, index) for index in range(5)] == [0, 1, 2, 3, 4]

    late = [in_order[0], in_order[2], in_order[1], in_order[3], in_order[4]]
    # Cut before the late event (index 2), the first batch's clock (day 2) would be ahead of
    # the second's start (day 1): the last clean cut before it is before day 2's event.
    assert [clean_cut(late, index) for index in range(5)] == [0, 1, 1, 3, 4]
    assert history("C1", *late).events == late
