"""The batch fold: order within a batch is event time, whatever the batch holds."""

from datetime import timedelta

from hub.core.drafts import ScheduledCheck
from hub.core.fold import BatchDecisions, Subjects, decide_batch
from hub.core.records import CHECK_GRACE, ReceivedEvent
from hub.core.state import CustomerState
from schemas.interaction import Interaction
from tests.factories import NOW
from tests.unit.core.decisions import config, customer, event

WHO = customer()


def _batch(*events: Interaction) -> BatchDecisions:
    state = CustomerState()
    subjects = Subjects(lambda _: state, lambda _: WHO, {}, lambda trigger: trigger.kind)
    received = [ReceivedEvent(e, e.occurred_at + CHECK_GRACE, "t", 0, n) for n, e in enumerate(events)]
    return decide_batch(received, {e.event_id for e in events}, [], subjects, config())


def _abandoned(schedules: list[tuple[ScheduledCheck, int]]) -> list[str]:
    return [check.check_id for check, _ in schedules if check.rule.id == "abandoned_application"]


def _application(type_: str, event_id: str, minutes: int) -> Interaction:
    return event(
        "web",
        type_,
        event_id=event_id,
        occurred_at=(NOW + timedelta(minutes=minutes)).isoformat(),
        payload={"application_id": "APP-7", "product": "personal_loan"},
    )


def _page_view_two_days_on() -> Interaction:
    """An event far enough on to fire the check of a start at NOW."""
    return event(
        "web",
        "page_view",
        event_id="later",
        occurred_at=(NOW + timedelta(days=2)).isoformat(),
        payload={"page": "/home", "product": None},
    )


def test_a_follow_up_before_a_start_does_not_answer_the_check_the_start_schedules() -> None:
    out = _batch(
        _application("application_submitted", "sub", 0), _application("application_started", "start", 1)
    )

    assert _abandoned(out.schedules) == ["abandoned_application/C000001/APP-7/start"]


def test_a_follow_up_after_a_start_answers_its_check_in_the_same_batch() -> None:
    out = _batch(
        _application("application_started", "start", 0), _application("application_submitted", "sub", 5)
    )

    assert out.answered == ["abandoned_application/C000001/APP-7/start"]
    assert "abandoned_application/C000001/APP-7/start" not in out.fired


def test_a_check_scheduled_by_the_batch_fires_before_the_later_events_of_its_shard() -> None:
    later = _page_view_two_days_on()
    out = _batch(_application("application_started", "start", 0), later)

    assert out.fired == ["abandoned_application/C000001/APP-7/start"]
    assert [d.verdict.draft.rule.id for d in out.decided] == ["abandoned_application"]


def test_a_sale_decided_before_an_earlier_due_check_counts_against_the_check() -> None:
    # The check is due 24 hours after the start but fires only once the shard's event
    # time is CHECK_GRACE past that; a sale of an event inside that grace is decided
    # first, though it is later in event time. Both going out would be two sales
    # triggers within seconds, over the cap of one in 7 days.
    deposit_in_the_grace = event(
        payload={"amount": "80000.00", "currency": "USD", "account_type": "fx"},
        event_id="deposit",
        occurred_at=(NOW + timedelta(hours=24, seconds=30)).isoformat(),
    )
    later = _page_view_two_days_on()
    out = _batch(_application("application_started", "start", 0), deposit_in_the_grace, later)

    verdicts = [(d.verdict.draft.rule.id, d.verdict.outcome, d.verdict.policy) for d in out.decided]
    assert verdicts == [
        ("high_value_walk_in_rm_referral", "published", None),
        ("abandoned_application", "suppressed", "frequency_cap"),
    ]
