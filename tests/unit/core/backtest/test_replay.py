"""A customer's replay decides as the worker's fold does, checks and declines included."""

from datetime import timedelta

from hub.core.backtest.replay import CustomerReplay, Decline, clean_cut, replay_customer
from hub.core.fold import Subjects, decide_batch
from hub.core.state import CustomerState
from tests.unit.core.backtest.history import at, big_deposit, history, received, travel_exchange, wealthy
from tests.unit.core.decisions import config

WALK_IN = "high_value_walk_in_rm_referral"


def _verdicts(decided: list) -> list[tuple[str, str, str | None]]:  # type: ignore[type-arg]
    return [(d.verdict.draft.rule.id, d.verdict.outcome, d.verdict.policy) for d in decided]


def test_a_replay_decides_what_the_fold_decides_for_the_same_events_in_one_batch() -> None:
    events = [
        big_deposit("C1", at(0), "e1"),
        travel_exchange("C1", at(0, 1), "e2"),
        received("C1", "phone", "complaint", at(2), "e3"),
        big_deposit("C1", at(3), "e4"),
    ]
    state = CustomerState()
    who = wealthy("C1")
    subjects = Subjects(lambda _: state, lambda _: who, {}, lambda _: "")
    batch = decide_batch(events, {e.event.event_id for e in events}, [], subjects, config())

    replayed = replay_customer(history("C1", *events, who=who), config(), horizon=None)

    assert [d.decision_id for d in replayed] == [d.decision_id for d in batch.decided]
    assert _verdicts(replayed) == [
        (WALK_IN, "published", None),
        ("travel_or_study_card", "suppressed", "frequency_cap"),
        ("complaint_follow_up", "published", None),
        (WALK_IN, "suppressed", "complaint_open"),
    ]


def test_a_check_still_pending_after_the_last_event_fires_only_if_the_shard_clock_passed_it() -> None:
    started = received("C1", "web", "application_started", at(0), "s1", application_id="A1", product="loan")
    replay = history("C1", started, who=wealthy("C1"))

    assert _verdicts(replay_customer(replay, config(), horizon=at(0, 23))) == []
    fired = replay_customer(replay, config(), horizon=at(1, 1))
    assert _verdicts(fired) == [("abandoned_application", "published", None)]


def test_a_check_answered_by_a_later_run_of_events_does_not_fire() -> None:
    # A decline in between splits the events into two runs: the check is stored by the
    # first and answered by the second, as the recorder would cancel a stored check.
    started = received("C1", "web", "application_started", at(0), "s1", application_id="A1", product="loan")
    submitted = received(
        "C1", "web", "application_submitted", at(0, 5), "s2", application_id="A1", product="loan"
    )
    decline = Decline("wealth_account", at(0, 2), at(90))
    replay = history("C1", started, submitted, who=wealthy("C1"), declines=(decline,))

    assert _verdicts(replay_customer(replay, config(), horizon=at(5))) == []


def test_a_decline_stops_offers_made_after_it_and_not_before() -> None:
    decline = Decline("wealth_account", at(10), at(100))
    before = history("C1", big_deposit("C1", at(5), "e1"), who=wealthy("C1"), declines=(decline,))
    after = history("C2", big_deposit("C2", at(11), "e2"), who=wealthy("C2"), declines=(decline,))

    assert _verdicts(replay_customer(before, config(), None)) == [(WALK_IN, "published", None)]
    assert _verdicts(replay_customer(after, config(), None)) == [(WALK_IN, "suppressed", "declined")]


def test_a_decline_that_ran_out_stops_nothing() -> None:
    decline = Decline("wealth_account", at(0), at(0) + timedelta(days=1))
    replay = history("C1", big_deposit("C1", at(2), "e1"), who=wealthy("C1"), declines=(decline,))

    assert _verdicts(replay_customer(replay, config(), None)) == [(WALK_IN, "published", None)]


def test_a_replay_cut_where_clean_cut_allows_decides_as_one_and_cut_elsewhere_may_not() -> None:
    # The application is recorded after a visit two days later: the shard's clock is past
    # its check's due time, so the check fires before the submission comes in.
    started = received("C1", "web", "application_started", at(1), "s1", application_id="A1", product="loan")
    submitted = received(
        "C1", "web", "application_submitted", at(1, 12), "s2", application_id="A1", product="loan"
    )
    visit = received("C1", "branch", "visit", at(3), "v1", purpose="account", wait_minutes=5)
    events = [visit, started, submitted]
    replay = history("C1", *events, who=wealthy("C1"))
    whole = replay_customer(replay, config(), horizon=at(5))
    assert ("abandoned_application", "published", None) in _verdicts(whole)

    for index in range(len(events)):
        cut = CustomerReplay(replay, config())
        cut.through(clean_cut(events, index))
        assert cut.finish(at(5)) == whole

    # Cut before the late application, the second batch's clock starts two days back and
    # the submission answers the check before it fires.
    unclean = CustomerReplay(replay, config())
    unclean.through(1)
    assert ("abandoned_application", "published", None) not in _verdicts(unclean.finish(at(5)))
