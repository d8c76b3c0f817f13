"""Each figure of the report, on a small hand-built history."""

from datetime import date
from zoneinfo import ZoneInfo

from hub.core.backtest.replay import Decline, replay_customer
from hub.core.backtest.tally import SAMPLES_PER_RULE, Tally, merged
from hub.core.policy import in_control_group
from tests.unit.core.backtest.history import at, big_deposit, history, received, travel_exchange, wealthy
from tests.unit.core.decisions import config, customer

WALK_IN, TRAVEL = "high_value_walk_in_rm_referral", "travel_or_study_card"
ZONE = ZoneInfo("Asia/Shanghai")


def _tally(*histories, since=None, **policy) -> Tally:  # type: ignore[no-untyped-def]
    tally = Tally(ZONE, since)
    for one in histories:
        tally.add_customer(one.customer_id, replay_customer(one, config(**policy), None))
    return tally


def _scenario() -> Tally:
    """C1 (wealth, consents): a big deposit (published), a travel exchange an hour later
    (stopped by the 7-day sales cap), a complaint two days later (care, published).
    C2 (no marketing consent): a big deposit (stopped by consent). C3 (mass, no AUM): the same
    deposit a day later (published)."""
    return _tally(
        history(
            "C1",
            big_deposit("C1", at(0), "c1-1"),
            travel_exchange("C1", at(0, 1), "c1-2"),
            received("C1", "phone", "complaint", at(2), "c1-3"),
            who=wealthy("C1"),
        ),
        history(
            "C2",
            big_deposit("C2", at(0), "c2-1"),
            who=wealthy("C2", consents={"marketing": False, "phone": True, "sms": True, "email": False}),
        ),
        history(
            "C3",
            big_deposit("C3", at(1), "c3-1"),
            who=customer(customer_id="C3", assets_under_management=None),
        ),
    )


def test_would_fire_counts_every_proposal_whatever_the_policy_said() -> None:
    rules = _scenario().rules
    assert (rules[WALK_IN].would_fire, rules[TRAVEL].would_fire, rules["complaint_follow_up"].would_fire) == (
        3,
        1,
        1,
    )


def test_published_and_stopped_by_each_policy() -> None:
    walk_in, travel = _scenario().rules[WALK_IN], _scenario().rules[TRAVEL]
    assert dict(walk_in.outcomes) == {"published": 2, "suppressed": 1}
    assert dict(walk_in.stopped_by) == {"consent": 1}
    assert dict(travel.outcomes) == {"suppressed": 1}
    assert dict(travel.stopped_by) == {"frequency_cap": 1}


def test_the_control_group_holds_out_and_is_named_as_the_policy() -> None:
    held = next(f"C{n}" for n in range(100) if in_control_group(f"C{n}", 0.5))
    one = history(held, big_deposit(held, at(0), "e1"), who=wealthy(held))
    walk_in = _tally(one, control_share=0.5).rules[WALK_IN]
    assert dict(walk_in.outcomes) == {"held_out": 1}
    assert dict(walk_in.stopped_by) == {"control_group": 1}
    assert walk_in.customers_reached == 0


def test_a_declined_product_is_counted_under_declined() -> None:
    decline = Decline("wealth_account", at(-1), at(89))
    one = history("C1", big_deposit("C1", at(0), "e1"), who=wealthy("C1"), declines=(decline,))
    assert dict(_tally(one).rules[WALK_IN].stopped_by) == {"declined": 1}


def test_distinct_customers_proposed_and_reached() -> None:
    rules = _scenario().rules
    assert (rules[WALK_IN].customers_proposed, rules[WALK_IN].customers_reached) == (3, 2)
    # Two complaints of one customer: two triggers, one customer reached.
    two = _tally(
        history(
            "C1",
            received("C1", "phone", "complaint", at(0), "k1", complaint_id="CMP-1"),
            received("C1", "phone", "complaint", at(1), "k2", complaint_id="CMP-2"),
            who=wealthy("C1"),
        )
    ).rules["complaint_follow_up"]
    assert (two.published, two.customers_reached) == (2, 1)


def test_triggers_per_day_are_counted_on_the_local_day() -> None:
    walk_in = _scenario().rules[WALK_IN]
    # NOW is 09:00 UTC, 17:00 in Shanghai: day 0 and day 1 stay on their dates.
    assert dict(walk_in.proposed_per_day) == {date(2026, 11, 25): 2, date(2026, 11, 26): 1}
    assert dict(walk_in.published_per_day) == {date(2026, 11, 25): 1, date(2026, 11, 26): 1}
    late = _tally(history("C1", big_deposit("C1", at(0, 16), "e1"), who=wealthy("C1"))).rules[WALK_IN]
    assert dict(late.published_per_day) == {date(2026, 11, 26): 1}, "01:00 the next day in Shanghai"


def test_shares_by_tier_and_channel_count_published_triggers() -> None:
    walk_in = _scenario().rules[WALK_IN]
    assert dict(walk_in.by_tier) == {"wealth": 1, "mass": 1}
    assert sum(walk_in.by_channel.values()) == walk_in.published == 2
    assert set(walk_in.by_channel) <= {"phone", "branch", "sms", "email", "web"}


def test_overlaps_name_the_other_rule_and_which_one_went_out() -> None:
    rules = _scenario().rules
    overlap = rules[WALK_IN].overlaps[TRAVEL]
    assert (overlap.customers, overlap.pairs, overlap.this_went_out, overlap.other_went_out) == (1, 1, 1, 0)
    mirrored = rules[TRAVEL].overlaps[WALK_IN]
    assert (mirrored.this_went_out, mirrored.other_went_out) == (0, 1)
    assert "complaint_follow_up" not in rules[WALK_IN].overlaps, "care takes no sales cap"


def test_proposals_more_than_the_cap_window_apart_do_not_overlap() -> None:
    apart = _tally(
        history("C1", big_deposit("C1", at(0), "e1"), travel_exchange("C1", at(8), "e2"), who=wealthy("C1"))
    ).rules
    assert apart[WALK_IN].overlaps == {}
    assert apart[TRAVEL].published == 1


def test_samples_carry_the_reason_and_the_policy_and_prefer_a_mix_of_outcomes() -> None:
    samples = _scenario().rules[WALK_IN].samples
    assert len(samples) == 3
    assert sorted(s.outcome for s in samples) == ["published", "published", "suppressed"]
    stopped = next(s for s in samples if s.outcome == "suppressed")
    assert (stopped.customer_id, stopped.policy) == ("C2", "consent")
    assert "80,000.00 USD" in stopped.reason
    assert all(s.evidence for s in samples)


def test_at_most_a_few_samples_are_kept() -> None:
    many = [
        history(f"C{n}", received(f"C{n}", "phone", "complaint", at(0), f"k{n}"), who=wealthy(f"C{n}"))
        for n in range(10)
    ]
    assert len(_tally(*many).rules["complaint_follow_up"].samples) == SAMPLES_PER_RULE


def test_the_warm_up_shapes_the_state_but_is_not_counted() -> None:
    # A referral 10 days before the window: the one inside it is stopped by once_per (30 days).
    one = history("C1", big_deposit("C1", at(0), "e1"), big_deposit("C1", at(10), "e2"), who=wealthy("C1"))
    walk_in = _tally(one, since=at(5)).rules[WALK_IN]
    assert walk_in.would_fire == 1
    assert dict(walk_in.stopped_by) == {"once_per": 1}
    assert walk_in.customers_reached == 0


def test_parts_add_up_to_the_whole() -> None:
    scenario = [
        history("C1", big_deposit("C1", at(0), "a"), travel_exchange("C1", at(0, 1), "b"), who=wealthy("C1")),
        history("C2", big_deposit("C2", at(1), "c"), who=wealthy("C2")),
        history("C3", received("C3", "phone", "complaint", at(2), "d"), who=wealthy("C3")),
    ]
    whole = _tally(*scenario)
    parts = merged([_tally(scenario[0]), _tally(*scenario[1:])])
    assert parts.customers == whole.customers == 3
    for rule_id, figures in whole.rules.items():
        assert parts.rules[rule_id] == figures, rule_id
