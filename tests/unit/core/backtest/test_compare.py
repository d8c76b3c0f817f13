"""A candidate rule file against the rules in force: what changed, and by how much."""

from zoneinfo import ZoneInfo

from hub.core.backtest.compare import compare, rule_changes
from hub.core.backtest.replay import replay_customer
from hub.core.backtest.tally import Tally
from hub.core.decide import DecisionConfig
from tests.unit.core.backtest.history import at, big_deposit, history, travel_exchange, wealthy
from tests.unit.core.decisions import RULES, config

WALK_IN, TRAVEL = "high_value_walk_in_rm_referral", "travel_or_study_card"


def _with(rules: list, **changes: object) -> DecisionConfig:  # type: ignore[type-arg]
    base = config()
    return DecisionConfig(rules, base.tiers, base.rates, base.policy, base.default_zone)


def _tally(decision_config: DecisionConfig) -> Tally:
    tally = Tally(ZoneInfo("Asia/Shanghai"))
    for cid in ("C1", "C2"):
        one = history(
            cid,
            big_deposit(cid, at(0), f"{cid}-1"),
            travel_exchange(cid, at(0, 1), f"{cid}-2"),
            who=wealthy(cid),
        )
        tally.add_customer(cid, replay_customer(one, decision_config, None))
    return tally


def test_rule_changes_tell_added_removed_changed_and_unchanged() -> None:
    walk_in = next(r for r in RULES if r.id == WALK_IN)
    tighter = walk_in.model_copy(update={"version": walk_in.version + 1, "enabled": False})
    candidate = [tighter, *(r for r in RULES if r.id not in (WALK_IN, TRAVEL))]
    changes = rule_changes(candidate, RULES)
    assert changes[WALK_IN] == "changed"
    assert changes[TRAVEL] == "removed"
    assert changes["complaint_follow_up"] == "unchanged"
    assert rule_changes(RULES, candidate)[TRAVEL] == "added"


def test_a_disabled_rule_hands_its_customers_to_the_one_it_outcapped() -> None:
    walk_in = next(r for r in RULES if r.id == WALK_IN)
    candidate_rules = [walk_in.model_copy(update={"enabled": False}), *(r for r in RULES if r.id != WALK_IN)]
    rows = {
        r.rule_id: r
        for r in compare(candidate_rules, RULES, _tally(_with(candidate_rules)), _tally(_with(RULES)))
    }

    assert rows[WALK_IN].change == "changed"
    assert (rows[WALK_IN].delta("would_fire"), rows[WALK_IN].delta("published")) == (-2, -2)
    # The travel card is unchanged, yet its figures change: the cap no longer stops it.
    travel = rows[TRAVEL]
    assert travel.change == "unchanged"
    assert travel.figures_differ
    assert (travel.delta("published"), travel.delta("customers_reached")) == (2, 2)
    assert travel.stopped_delta() == {"frequency_cap": -2}
    assert not rows["complaint_follow_up"].figures_differ


def test_a_rule_of_the_file_that_never_proposed_shows_zeros_not_absence() -> None:
    rows = {r.rule_id: r for r in compare(RULES, RULES, _tally(config()), _tally(config()))}
    assert rows["digital_distress"].candidate is not None
    assert rows["digital_distress"].candidate.would_fire == 0
