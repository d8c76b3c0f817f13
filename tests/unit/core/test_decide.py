from datetime import UTC, datetime, timedelta

from hub.core.decide import Decision, trigger_id
from hub.core.state import CustomerState
from tests.factories import NOW
from tests.unit.core.decisions import customer, event, published, run

WALK_IN = "high_value_walk_in_rm_referral"


def usd_deposit(amount: str, **overrides: object):  # type: ignore[no-untyped-def]
    return event(payload={"amount": amount, "currency": "USD", "account_type": "fx"}, **overrides)


def test_large_foreign_deposit_without_rm_is_referred_to_an_rm() -> None:
    [trigger] = run(usd_deposit("50000.00"), who=customer()).triggers
    assert (trigger.kind, trigger.rule.id, trigger.product) == ("rm_referral", WALK_IN, "wealth_account")
    assert trigger.evidence == ["evt-teller-deposit"]
    assert trigger.tier == "wealth"  # 820,000 CNY of AUM
    assert trigger.recommended_channel == "phone"
    assert trigger.created_at == NOW
    assert "50,000.00 USD" in trigger.reason


def test_threshold_is_in_usd_equivalent_for_other_currencies() -> None:
    # 46,200 EUR * 7.70 / 7.10 = 50,104 USD: above; 46,000 EUR = 49,887 USD: below.
    above = event(payload={"amount": "46200.00", "currency": "EUR", "account_type": "fx"})
    below = event(payload={"amount": "46000.00", "currency": "EUR", "account_type": "fx"})
    assert published(run(above, who=customer())) == [WALK_IN]
    assert published(run(below, who=customer())) == []


def test_no_sales_without_marketing_consent_and_the_log_says_why() -> None:
    who = customer(consents={"marketing": False, "phone": True, "sms": True, "email": True})
    decision = run(usd_deposit("80000.00"), who=who)
    assert decision.triggers == []
    [decided] = decision.decided
    assert (decided.verdict.outcome, decided.verdict.policy) == ("suppressed", "consent")


def test_complaint_follow_up_is_care_and_goes_out_without_marketing_consent() -> None:
    who = customer(consents={"marketing": False, "phone": True, "sms": False, "email": False})
    [trigger] = run(event("phone", "complaint"), who=who).triggers
    assert (trigger.kind, trigger.action, trigger.product) == ("care", "follow_up", None)
    assert trigger.expires_at - trigger.not_before == timedelta(hours=24)


def test_high_severity_complaint_is_followed_up_sooner_and_first() -> None:
    [high] = run(event("phone", "complaint", payload={"severity": "high"}), who=customer()).triggers
    [medium] = run(event("phone", "complaint"), who=customer()).triggers
    assert high.expires_at - high.not_before == timedelta(hours=4)
    assert high.priority > medium.priority


def test_the_same_event_gives_the_same_trigger() -> None:
    first = run(usd_deposit("80000.00"), CustomerState(), customer()).triggers
    again = run(usd_deposit("80000.00"), CustomerState(), customer()).triggers
    assert first == again


def test_trigger_id_depends_on_rule_version_customer_and_evidence() -> None:
    base = trigger_id("r", 1, "C1", ("e1",))
    others = {
        trigger_id("r", 2, "C1", ("e1",)),
        trigger_id("r", 1, "C2", ("e1",)),
        trigger_id("r", 1, "C1", ("e2",)),
    }
    assert base == trigger_id("r", 1, "C1", ("e1",))
    assert base not in others and len(others) == 3


def test_a_call_asked_for_in_quiet_hours_waits_for_eight_in_the_morning() -> None:
    late = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)  # 22:30 in Shanghai
    [trigger] = run(event("phone", "complaint", occurred_at=late.isoformat()), who=customer()).triggers
    assert trigger.recommended_channel == "phone"
    assert trigger.not_before == datetime(2026, 11, 26, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    assert trigger.created_at == late


def test_a_reason_never_outgrows_the_contract() -> None:
    long_category = "x" * 250  # the contract allows it; the reason quoting it would be 300+
    [trigger] = run(event("phone", "complaint", payload={"category": long_category}), who=customer()).triggers
    assert len(trigger.reason) == 256


def test_without_a_profile_only_a_caller_is_called_back() -> None:
    called = run(event("phone", "complaint"), who=None).triggers
    waited = run(event("branch", "visit", payload={"wait_minutes": 45}), who=None)
    assert [t.recommended_channel for t in called] == ["phone"]
    assert waited.triggers == []
    assert waited.decided[0].verdict.policy == "channel_consent"


def _referral_decided_late(days_later: int) -> Decision:
    """A large deposit at NOW, decided after one made ``days_later`` days after it."""
    state, who = CustomerState(), customer()
    later = NOW + timedelta(days=days_later)
    run(usd_deposit("80000.00", event_id="later", occurred_at=later.isoformat()), state, who)
    return run(usd_deposit("80000.00", event_id="late", occurred_at=NOW.isoformat()), state, who)


def test_a_late_moment_is_capped_by_the_sends_after_it_in_event_time_too() -> None:
    late = _referral_decided_late(3)
    # Sent at its own moment, it would reach the customer three days before a referral
    # they already got: within the rule's 30 days either way.
    assert [(d.verdict.outcome, d.verdict.policy) for d in late.decided] == [("suppressed", "once_per")]


def test_sends_beyond_every_window_after_a_late_moment_do_not_stop_it() -> None:
    assert published(_referral_decided_late(31)) == ["high_value_walk_in_rm_referral"]
