"""The ten default rules (hub/rules/default.yaml) and the contact policy applied to them.

For each moment of domain.md: the trigger it proposes when it fires, and the near misses
that must not fire (just below a threshold, outside the window, wrong profile, follow-up
present). Time-based rules are checked twice: the check they schedule, and what that check
decides when it comes due. Then the policy on real rules: complaint first, arbitration,
frequency caps, declined offers, the control group and quiet hours.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hub.core.decide import Decided, Decision, Subject, decide
from hub.core.drafts import Cancellation, ScheduledCheck
from hub.core.policy import in_control_group
from hub.core.state import CustomerState
from hub.rules.loading import parse_rules
from schemas.interaction import Interaction
from schemas.profile import CustomerProfile
from schemas.trigger import Trigger
from tests.factories import NOW
from tests.unit.core.decisions import config, customer, event, published, run, run_due

SHANGHAI = ZoneInfo("Asia/Shanghai")

WALK_IN = "high_value_walk_in_rm_referral"
BIRTHDAY = "birthday_greeting"
TIME_DEPOSIT = "time_deposit_maturing"
FX_UP_SELL = "fx_active_up_sell"
TRAVEL_CARD = "travel_or_study_card"
COMPLAINT = "complaint_follow_up"
UNRESOLVED = "repeated_unresolved_contact"
DISTRESS = "digital_distress"
ABANDONED = "abandoned_application"
BRANCH_WAIT = "long_branch_wait"

NO_CONSENT = {"marketing": False, "phone": False, "sms": False, "email": False}


# --- helpers --------------------------------------------------------------------------


def at(**delta: float) -> str:
    """NOW (2026-11-25 09:00 UTC, 17:00 in Shanghai) moved by ``delta``, as the envelope wants it."""
    return (NOW + timedelta(**delta)).isoformat()


def outcomes(decision: Decision) -> list[tuple[str, str, str | None]]:
    """(rule, outcome, policy) of every verdict of the decision."""
    return [(d.verdict.draft.rule.id, d.verdict.outcome, d.verdict.policy) for d in decision.decided]


def verdict_of(decision: Decision, rule_id: str) -> Decided:
    [decided] = [d for d in decision.decided if d.verdict.draft.rule.id == rule_id]
    return decided


def checks_of(decision: Decision, rule_id: str) -> list[ScheduledCheck]:
    """The checks a decision scheduled for ``rule_id`` (every first event also plans the birthday)."""
    return [check for check in decision.schedules if check.rule.id == rule_id]


def the_trigger(decision: Decision, rule_id: str) -> Trigger:
    [trigger] = [t for t in decision.triggers if t.rule.id == rule_id]
    return trigger


def moved(ev: Interaction, event_id: str, **delta: float) -> Interaction:
    """The same event under another id, ``delta`` after NOW."""
    return ev.model_copy(update={"event_id": event_id, "occurred_at": NOW + timedelta(**delta)})


def usd_deposit(amount: str, **overrides: Any) -> Interaction:
    return event(payload={"amount": amount, "currency": "USD", "account_type": "fx"}, **overrides)


def fx(amount: str = "5000.00", purpose: str = "investment", **overrides: Any) -> Interaction:
    return event("teller", "fx_exchange", payload={"sell_amount": amount, "purpose": purpose}, **overrides)


def call(resolved: bool, **overrides: Any) -> Interaction:
    return event("phone", "call", payload={"resolved": resolved}, **overrides)


def login(success: bool, minutes: float, event_id: str) -> Interaction:
    return event(
        "web", "login", payload={"success": success}, occurred_at=at(minutes=minutes), event_id=event_id
    )


# --- 1. high-value walk-in ------------------------------------------------------------


def test_walk_in_at_exactly_50000_usd_is_referred_to_a_relationship_manager() -> None:
    decision = run(usd_deposit("50000.00"), who=customer())
    trigger = the_trigger(decision, WALK_IN)
    assert (trigger.kind, trigger.action, trigger.product) == ("rm_referral", "offer", "wealth_account")
    assert (trigger.priority, trigger.tier, trigger.recommended_channel) == (70, "wealth", "phone")
    assert trigger.reason == (
        "deposit of 50,000.00 USD (about 50,000 USD) at the counter"
        " by a customer without a relationship manager"
    )
    assert trigger.evidence == ["evt-teller-deposit"]
    assert trigger.expires_at - trigger.not_before == timedelta(days=7)


def test_walk_in_counts_a_foreign_currency_exchange_too() -> None:
    trigger = the_trigger(run(fx("64000.00"), who=customer()), WALK_IN)
    assert trigger.reason.startswith("fx exchange of 64,000.00 USD")


def test_walk_in_without_phone_consent_is_asked_for_at_the_branch() -> None:
    who = customer(consents={"marketing": True, "phone": False, "sms": True, "email": True})
    assert the_trigger(run(usd_deposit("80000.00"), who=who), WALK_IN).recommended_channel == "branch"


@pytest.mark.parametrize(
    ("ev", "who"),
    [
        pytest.param(usd_deposit("49999.99"), customer(), id="a cent below 50,000 USD"),
        pytest.param(
            event(payload={"amount": "400000.00", "currency": "CNY", "account_type": "savings"}),
            customer(),
            id="home currency is not foreign",
        ),
        pytest.param(
            event("teller", "withdrawal", payload={"amount": "80000.00", "currency": "USD"}),
            customer(),
            id="a withdrawal is not a deposit",
        ),
        pytest.param(usd_deposit("80000.00"), customer(rm_id="RM-7"), id="already has an RM"),
        pytest.param(usd_deposit("80000.00"), None, id="unknown customer"),
    ],
)
def test_walk_in_does_not_fire(ev: Interaction, who: CustomerProfile | None) -> None:
    assert outcomes(run(ev, who=who)) == []


# --- 2. birthday greeting ---------------------------------------------------------------


def test_birthday_is_planned_for_nine_in_the_morning_of_the_next_birthday_once_a_year() -> None:
    state = CustomerState()
    [check] = checks_of(run(event(), state, customer()), BIRTHDAY)  # born 1987-05-08
    assert check.due_at == datetime(2027, 5, 8, 9, 0, tzinfo=SHANGHAI)
    assert check.due_at == datetime(2027, 5, 8, 1, 0, tzinfo=UTC)
    assert (check.check_id, check.evidence) == ("birthday_greeting/C000001/2027", ("birth_date:2027",))
    later = run(event(event_id="evt-2", occurred_at=at(days=30)), state, customer())
    assert checks_of(later, BIRTHDAY) == []


def test_birthday_later_today_is_today_and_one_just_passed_is_next_year() -> None:
    who = customer(birth_date="1990-11-26")
    # 2026-11-25 09:00 UTC is 17:00 on the 25th in Shanghai; 23:30 UTC is 07:30 on the 26th.
    [early] = checks_of(run(event(occurred_at=at(hours=14.5)), CustomerState(), who), BIRTHDAY)
    [late] = checks_of(run(event(occurred_at=at(hours=16.5)), CustomerState(), who), BIRTHDAY)
    assert early.due_at == datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI)
    assert late.due_at == datetime(2027, 11, 26, 9, 0, tzinfo=SHANGHAI)


def test_birthday_follows_the_customers_own_time_zone() -> None:
    who = customer(time_zone="Europe/London")
    [check] = checks_of(run(event(), CustomerState(), who), BIRTHDAY)
    assert check.due_at == datetime(2027, 5, 8, 8, 0, tzinfo=UTC)  # 09:00 BST


def test_a_29_february_birthday_is_greeted_on_28_february_in_other_years() -> None:
    [check] = checks_of(run(event(), CustomerState(), customer(birth_date="1988-02-29")), BIRTHDAY)
    assert check.due_at == datetime(2027, 2, 28, 9, 0, tzinfo=SHANGHAI)


def test_no_birth_date_no_birthday() -> None:
    assert run(event(), CustomerState(), customer(birth_date=None)).schedules == []
    assert run(event(), CustomerState(), None).schedules == []


@pytest.mark.parametrize(
    ("aum", "consents", "channel"),
    [
        pytest.param("7000000.00", None, "phone", id="private: RM call"),
        pytest.param("820000.00", None, "phone", id="wealth: RM call"),
        pytest.param("100000.00", None, "sms", id="affluent: message"),
        pytest.param(None, None, "sms", id="mass: message"),
        pytest.param(
            None,
            {"marketing": False, "phone": True, "sms": False, "email": True},
            "email",
            id="mass, email only",
        ),
        pytest.param(None, NO_CONSENT, "web", id="mass, no consents: web"),
    ],
)
def test_birthday_greeting_when_due(aum: str | None, consents: dict[str, bool] | None, channel: str) -> None:
    overrides: dict[str, Any] = {
        "assets_under_management": None if aum is None else {"amount": aum, "currency": "CNY"}
    }
    if consents is not None:
        overrides["consents"] = consents
    who = customer(**overrides)
    state = CustomerState()
    [check] = checks_of(run(event(), state, who), BIRTHDAY)
    [trigger] = run_due(check, state, who).triggers
    assert (trigger.rule.id, trigger.kind, trigger.action, trigger.product) == (
        BIRTHDAY,
        "care",
        "greet",
        None,
    )
    assert (trigger.recommended_channel, trigger.reason) == (channel, "birthday greeting")
    assert trigger.created_at == trigger.not_before == check.due_at
    assert trigger.expires_at == check.due_at + timedelta(days=1)
    assert trigger.evidence == ["birth_date:2027"]


def test_birthday_is_greeted_once_a_year() -> None:
    who, state = customer(), CustomerState()
    [check] = checks_of(run(event(), state, who), BIRTHDAY)
    assert published(run_due(check, state, who)) == [BIRTHDAY]
    again = run_due(replace(check, check_id="birthday_greeting/C000001/again"), state, who)
    assert outcomes(again) == [(BIRTHDAY, "suppressed", "once_per")]
    [next_year] = checks_of(
        run(event(event_id="evt-2", occurred_at="2027-05-09T09:00:00+00:00"), state, who), BIRTHDAY
    )
    assert next_year.due_at == datetime(2028, 5, 8, 9, 0, tzinfo=SHANGHAI)
    assert published(run_due(next_year, state, who)) == [BIRTHDAY]


# --- 3. time deposit maturing -----------------------------------------------------------


def time_deposit(**payload: Any) -> Interaction:
    return event("teller", "time_deposit_opened", payload=payload)


def test_time_deposit_is_checked_seven_days_before_maturity_at_nine_local() -> None:
    [check] = checks_of(run(time_deposit(maturity_date="2027-11-25"), who=customer()), TIME_DEPOSIT)
    assert check.due_at == datetime(2027, 11, 18, 9, 0, tzinfo=SHANGHAI)
    assert check.evidence == ("evt-teller-time_deposit_opened",)


def test_maturing_time_deposit_offers_a_capital_protected_fund_when_due() -> None:
    who, state = customer(), CustomerState()
    [check] = checks_of(run(time_deposit(), state, who), TIME_DEPOSIT)
    decision = run_due(check, state, who)
    [trigger] = decision.triggers
    assert (trigger.rule.id, trigger.kind, trigger.action) == (TIME_DEPOSIT, "cross_sell", "offer")
    assert (trigger.product, trigger.priority, trigger.recommended_channel) == (
        "capital_protected_fund",
        60,
        "phone",
    )
    assert trigger.reason == "time deposit of 100,000.00 CNY matures on 2027-11-25"
    assert trigger.created_at == check.due_at == datetime(2027, 11, 18, 9, 0, tzinfo=SHANGHAI)
    assert trigger.expires_at - trigger.not_before == timedelta(days=7)
    assert trigger.evidence == ["evt-teller-time_deposit_opened"]


def test_maturing_time_deposit_of_a_mass_customer_gets_a_message_not_a_call() -> None:
    who = customer(assets_under_management=None)
    state = CustomerState()
    [check] = checks_of(run(time_deposit(), state, who), TIME_DEPOSIT)
    [trigger] = run_due(check, state, who).triggers
    assert (trigger.tier, trigger.recommended_channel) == ("mass", "sms")


@pytest.mark.parametrize(
    ("who", "policy"),
    [
        pytest.param(
            customer(consents={"marketing": False, "phone": True, "sms": True, "email": True}),
            "consent",
            id="no marketing consent",
        ),
        pytest.param(
            customer(consents={"marketing": True, "phone": False, "sms": False, "email": False}),
            "channel_consent",
            id="wealth tier without phone, sms or email",
        ),
    ],
)
def test_maturing_time_deposit_is_not_offered(who: CustomerProfile, policy: str) -> None:
    state = CustomerState()
    [check] = checks_of(run(time_deposit(), state, who), TIME_DEPOSIT)
    assert outcomes(run_due(check, state, who)) == [(TIME_DEPOSIT, "suppressed", policy)]


def test_only_a_time_deposit_plans_a_maturity_check() -> None:
    assert checks_of(run(usd_deposit("80000.00"), who=customer()), TIME_DEPOSIT) == []


# --- 4. active FX customer ------------------------------------------------------------


def test_third_fx_exchange_in_30_days_up_sells_the_structured_fx_deposit() -> None:
    who, state = customer(), CustomerState()
    assert outcomes(run(fx(event_id="fx-1"), state, who)) == []
    assert outcomes(run(fx(event_id="fx-2", occurred_at=at(days=10)), state, who)) == []
    decision = run(fx(event_id="fx-3", occurred_at=at(days=29, hours=23)), state, who)
    trigger = the_trigger(decision, FX_UP_SELL)
    assert (trigger.kind, trigger.action, trigger.product) == ("up_sell", "offer", "structured_fx_deposit")
    assert (trigger.priority, trigger.recommended_channel) == (65, "phone")
    assert trigger.reason == "3 foreign-exchange transactions in 30 days"
    assert trigger.evidence == ["fx-1", "fx-2", "fx-3"]
    assert trigger.expires_at - trigger.not_before == timedelta(days=14)


def test_two_fx_exchanges_are_not_enough() -> None:
    who, state = customer(), CustomerState()
    run(fx(event_id="fx-1"), state, who)
    assert outcomes(run(fx(event_id="fx-2", occurred_at=at(hours=1)), state, who)) == []


def test_a_third_fx_exchange_31_days_after_the_first_is_outside_the_window() -> None:
    who, state = customer(), CustomerState()
    run(fx(event_id="fx-1"), state, who)
    run(fx(event_id="fx-2", occurred_at=at(days=10)), state, who)
    assert outcomes(run(fx(event_id="fx-3", occurred_at=at(days=31)), state, who)) == []


def test_other_teller_transactions_do_not_count_as_fx_exchanges() -> None:
    who, state = customer(), CustomerState()
    run(fx(event_id="fx-1"), state, who)
    run(usd_deposit("100.00", event_id="dep-1", occurred_at=at(days=1)), state, who)
    assert outcomes(run(fx(event_id="fx-2", occurred_at=at(days=2)), state, who)) == []


def test_no_fx_up_sell_for_a_customer_who_holds_the_product() -> None:
    who, state = customer(products=["savings", "structured_fx_deposit"]), CustomerState()
    for n in range(3):
        decision = run(fx(event_id=f"fx-{n}", occurred_at=at(days=n)), state, who)
    assert outcomes(decision) == []


def test_fx_up_sell_is_not_repeated_within_90_days() -> None:
    who, state = customer(), CustomerState()
    decisions = [run(fx(event_id=f"fx-{day}", occurred_at=at(days=day)), state, who) for day in range(3)]
    assert published(decisions[-1]) == [FX_UP_SELL]
    decisions = [run(fx(event_id=f"fx-{day}", occurred_at=at(days=day)), state, who) for day in (40, 41, 42)]
    assert [outcomes(d) for d in decisions] == [[], [], [(FX_UP_SELL, "suppressed", "once_per")]]
    decisions = [run(fx(event_id=f"fx-{day}", occurred_at=at(days=day)), state, who) for day in (95, 96, 97)]
    assert published(decisions[-1]) == [FX_UP_SELL]


# --- 5. travel or study card ------------------------------------------------------------


@pytest.mark.parametrize(
    ("ev", "need"),
    [
        pytest.param(fx(purpose="travel"), "travel", id="fx exchange for travel"),
        pytest.param(fx(purpose="study_abroad"), "study abroad", id="fx exchange to study abroad"),
        pytest.param(
            event("branch", "inquiry", payload={"topic": "study_abroad"}), "study abroad", id="branch inquiry"
        ),
        pytest.param(event("teller", "inquiry", payload={"topic": "travel"}), "travel", id="teller inquiry"),
    ],
)
def test_a_stated_need_sells_an_international_credit_card(ev: Interaction, need: str) -> None:
    trigger = the_trigger(run(ev, who=customer()), TRAVEL_CARD)
    assert (trigger.kind, trigger.action, trigger.product) == (
        "repeat_sell",
        "offer",
        "international_credit_card",
    )
    assert (trigger.priority, trigger.recommended_channel) == (50, "sms")  # sms first, and consented
    assert trigger.reason == f"stated need: {need}"
    assert trigger.expires_at - trigger.not_before == timedelta(days=14)


@pytest.mark.parametrize(
    ("ev", "who"),
    [
        pytest.param(fx(purpose="trade"), customer(), id="exchange for trade"),
        pytest.param(event("branch", "inquiry", payload={"topic": "mortgage"}), customer(), id="other topic"),
        pytest.param(
            fx(purpose="travel"),
            customer(products=["savings", "international_credit_card"]),
            id="already holds the card",
        ),
        pytest.param(fx(purpose="travel"), None, id="unknown customer"),
    ],
)
def test_no_card_without_a_stated_need_or_with_the_card(ev: Interaction, who: CustomerProfile | None) -> None:
    assert outcomes(run(ev, who=who)) == []


def test_the_card_is_not_offered_again_within_90_days() -> None:
    who, state = customer(), CustomerState()
    run(fx(purpose="travel", event_id="fx-1"), state, who)
    again = run(fx(purpose="travel", event_id="fx-2", occurred_at=at(days=60)), state, who)
    assert outcomes(again) == [(TRAVEL_CARD, "suppressed", "once_per")]


# --- 6. complaint follow-up -------------------------------------------------------------


def test_a_complaint_is_followed_up_within_24_hours() -> None:
    trigger = the_trigger(run(event("phone", "complaint"), who=customer()), COMPLAINT)
    assert (trigger.kind, trigger.action, trigger.product) == ("care", "follow_up", None)
    assert (trigger.priority, trigger.recommended_channel) == (85, "phone")
    assert trigger.reason == "medium-severity complaint CMP-1 about lost payment: follow up"
    assert trigger.expires_at - trigger.not_before == timedelta(hours=24)


def test_a_high_severity_complaint_comes_first_and_sooner() -> None:
    trigger = the_trigger(
        run(event("phone", "complaint", payload={"severity": "high"}), who=customer()), COMPLAINT
    )
    assert trigger.priority == 95
    assert trigger.expires_at - trigger.not_before == timedelta(hours=4)
    assert trigger.reason.startswith("high-severity complaint CMP-1")


def test_a_complaint_follow_up_falls_back_to_the_branch_without_consents() -> None:
    trigger = the_trigger(run(event("phone", "complaint"), who=customer(consents=NO_CONSENT)), COMPLAINT)
    assert trigger.recommended_channel == "branch"


def test_while_a_complaint_is_open_no_sales_go_out_and_after_it_is_resolved_they_do() -> None:
    who, state = customer(), CustomerState()
    run(event("phone", "complaint"), state, who)
    blocked = run(usd_deposit("80000.00", event_id="dep-1", occurred_at=at(days=1)), state, who)
    assert outcomes(blocked) == [(WALK_IN, "suppressed", "complaint_open")]
    assert "CMP-1" in verdict_of(blocked, WALK_IN).verdict.detail
    run(event("phone", "complaint_resolved", occurred_at=at(days=2)), state, who)
    assert published(run(usd_deposit("80000.00", event_id="dep-2", occurred_at=at(days=3)), state, who)) == [
        WALK_IN
    ]


def test_a_second_different_complaint_within_a_week_is_followed_up_too() -> None:
    who, state = customer(), CustomerState()
    run(event("phone", "complaint", event_id="cmp-1"), state, who)
    second = run(
        event(
            "phone",
            "complaint",
            event_id="cmp-2",
            occurred_at=at(days=3),
            payload={"complaint_id": "CMP-2", "category": "card_fraud", "severity": "high"},
        ),
        state,
        who,
    )
    assert published(second) == [COMPLAINT]


# --- 7. repeated unresolved contact -----------------------------------------------------


def test_three_unresolved_contacts_within_48_hours_get_a_call() -> None:
    who, state = customer(), CustomerState()
    assert outcomes(run(call(False, event_id="c-1"), state, who)) == []
    inquiry = event("teller", "inquiry", event_id="q-1", occurred_at=at(hours=10))  # topic: mortgage
    assert outcomes(run(inquiry, state, who)) == []
    decision = run(call(False, event_id="c-2", occurred_at=at(hours=47, minutes=59)), state, who)
    trigger = the_trigger(decision, UNRESOLVED)
    assert (trigger.kind, trigger.action, trigger.priority) == ("care", "call", 80)
    assert trigger.reason == "3 unresolved contacts within 48 hours"
    assert trigger.evidence == ["c-1", "q-1", "c-2"]
    assert trigger.recommended_channel == "phone"


def test_unresolved_contacts_spread_over_more_than_48_hours_are_not_repeated_contact() -> None:
    who, state = customer(), CustomerState()
    run(call(False, event_id="c-1"), state, who)
    run(call(False, event_id="c-2", occurred_at=at(hours=24)), state, who)
    assert outcomes(run(call(False, event_id="c-3", occurred_at=at(hours=48, minutes=1)), state, who)) == []


def test_resolved_calls_are_not_unresolved_contacts() -> None:
    who, state = customer(), CustomerState()
    run(call(False, event_id="c-1"), state, who)
    run(call(True, event_id="c-2", occurred_at=at(hours=1)), state, who)
    assert outcomes(run(call(False, event_id="c-3", occurred_at=at(hours=2)), state, who)) == []


def test_a_repeated_contact_call_asked_for_late_at_night_waits_for_the_morning() -> None:
    who, state = customer(), CustomerState()
    run(call(False, event_id="c-1"), state, who)
    run(call(False, event_id="c-2", occurred_at=at(hours=1)), state, who)
    late = NOW + timedelta(hours=5, minutes=30)  # 22:30 in Shanghai
    trigger = the_trigger(
        run(call(False, event_id="c-3", occurred_at=late.isoformat()), state, who), UNRESOLVED
    )
    assert trigger.created_at == late
    assert trigger.not_before == datetime(2026, 11, 26, 8, 0, tzinfo=SHANGHAI)
    assert trigger.expires_at == trigger.not_before + timedelta(days=2)


# --- 8. digital distress ----------------------------------------------------------------


def test_three_failed_logins_within_15_minutes_plan_a_check_ten_minutes_later() -> None:
    who, state = customer(), CustomerState()
    assert checks_of(run(login(False, 0, "l-1"), state, who), DISTRESS) == []
    assert checks_of(run(login(False, 5, "l-2"), state, who), DISTRESS) == []
    [check] = checks_of(run(login(False, 14, "l-3"), state, who), DISTRESS)
    assert check.due_at == NOW + timedelta(minutes=24)
    assert check.evidence == ("l-1", "l-2", "l-3")
    assert check.correlation is None
    [trigger] = run_due(check, state, who).triggers
    assert (trigger.rule.id, trigger.kind, trigger.action, trigger.priority) == (DISTRESS, "care", "call", 75)
    assert trigger.reason == "3 failed logins within 15 minutes and no successful one after them"
    assert trigger.created_at == check.due_at
    assert (trigger.recommended_channel, trigger.evidence) == ("phone", ["l-1", "l-2", "l-3"])


def test_failed_logins_spread_over_more_than_15_minutes_are_not_distress() -> None:
    who, state = customer(), CustomerState()
    for minutes, event_id in ((0, "l-1"), (8, "l-2"), (16, "l-3")):
        decision = run(login(False, minutes, event_id), state, who)
    assert checks_of(decision, DISTRESS) == []


def test_successful_logins_are_not_counted_as_failures() -> None:
    who, state = customer(), CustomerState()
    for minutes, success in ((0, False), (1, True), (2, False)):
        decision = run(login(success, minutes, f"l-{minutes}"), state, who)
    assert checks_of(decision, DISTRESS) == []


def test_a_successful_login_after_the_failures_cancels_the_check() -> None:
    who, state = customer(), CustomerState()
    for minutes in (0, 1, 2):
        run(login(False, minutes, f"l-{minutes}"), state, who)
    decision = run(login(True, 6, "ok"), state, who)
    assert decision.cancellations == [Cancellation("C000001", DISTRESS, None, NOW + timedelta(minutes=6))]
    assert outcomes(decision) == []


# --- 9. abandoned application -----------------------------------------------------------


def application(type_: str, minutes: float = 0, application_id: str = "APP-1") -> Interaction:
    return event(
        "web",
        type_,
        event_id=f"{type_}-{application_id}",
        occurred_at=at(minutes=minutes),
        payload={"application_id": application_id, "product": "credit_card"},
    )


def test_an_application_not_submitted_within_24_hours_is_followed_up() -> None:
    who, state = customer(), CustomerState()
    [check] = checks_of(run(application("application_started"), state, who), ABANDONED)
    assert check.due_at == NOW + timedelta(hours=24)
    assert (check.check_id, check.correlation) == (
        "abandoned_application/C000001/APP-1/application_started-APP-1",
        "APP-1",
    )
    [trigger] = run_due(check, state, who).triggers
    assert (trigger.rule.id, trigger.kind, trigger.action) == (ABANDONED, "cross_sell", "follow_up")
    assert (trigger.product, trigger.priority, trigger.recommended_channel) == ("credit_card", 55, "sms")
    assert trigger.reason == "application APP-1 for credit card started and not submitted"
    assert trigger.created_at == check.due_at
    assert trigger.expires_at - trigger.not_before == timedelta(days=3)


def test_submitting_the_same_application_in_time_cancels_its_check() -> None:
    who, state = customer(), CustomerState()
    [check] = checks_of(run(application("application_started"), state, who), ABANDONED)
    submitted = run(application("application_submitted", minutes=90), state, who)
    [cancellation] = submitted.cancellations
    assert cancellation == Cancellation("C000001", ABANDONED, "APP-1", NOW + timedelta(minutes=90))
    assert cancellation.correlation == check.correlation and cancellation.at <= check.due_at
    assert checks_of(submitted, ABANDONED) == []


def test_submitting_another_application_answers_only_that_one() -> None:
    who, state = customer(), CustomerState()
    [check] = checks_of(run(application("application_started"), state, who), ABANDONED)
    [cancellation] = run(application("application_submitted", 30, "APP-2"), state, who).cancellations
    assert cancellation.correlation == "APP-2" != check.correlation


def test_an_abandoned_application_is_a_sale_and_needs_marketing_consent() -> None:
    who = customer(consents={"marketing": False, "phone": True, "sms": True, "email": True})
    state = CustomerState()
    [check] = checks_of(run(application("application_started"), state, who), ABANDONED)
    assert outcomes(run_due(check, state, who)) == [(ABANDONED, "suppressed", "consent")]


# --- 10. long branch wait ---------------------------------------------------------------


def visit(wait_minutes: int, **overrides: Any) -> Interaction:
    return event("branch", "visit", payload={"wait_minutes": wait_minutes}, **overrides)


def test_a_30_minute_branch_wait_gets_an_apology() -> None:
    trigger = the_trigger(run(visit(30), who=customer()), BRANCH_WAIT)
    assert (trigger.kind, trigger.action, trigger.product, trigger.priority) == (
        "care",
        "apologise",
        None,
        60,
    )
    assert (trigger.recommended_channel, trigger.reason) == ("sms", "waited 30 minutes in branch")
    assert trigger.evidence == ["evt-branch-visit"]
    assert trigger.expires_at - trigger.not_before == timedelta(days=2)


def test_a_29_minute_wait_is_not_long() -> None:
    assert outcomes(run(visit(29), who=customer())) == []


def test_a_branch_wait_apology_uses_the_phone_when_that_is_all_the_customer_allows() -> None:
    who = customer(consents={"marketing": False, "phone": True, "sms": False, "email": False})
    assert the_trigger(run(visit(45), who=who), BRANCH_WAIT).recommended_channel == "phone"
    nothing = run(visit(45), who=customer(consents=NO_CONSENT))
    assert outcomes(nothing) == [(BRANCH_WAIT, "suppressed", "channel_consent")]


def test_the_same_care_reason_goes_out_at_most_once_in_seven_days() -> None:
    who, state = customer(), CustomerState()
    run(visit(40, event_id="v-1"), state, who)
    assert outcomes(run(visit(40, event_id="v-2", occurred_at=at(days=6)), state, who)) == [
        (BRANCH_WAIT, "suppressed", "frequency_cap")
    ]
    assert published(run(visit(40, event_id="v-3", occurred_at=at(days=7, hours=1)), state, who)) == [
        BRANCH_WAIT
    ]


# --- the contact policy on the default rules --------------------------------------------


def test_two_sales_rules_on_one_event_are_arbitrated_by_priority() -> None:
    decision = run(fx("60000.00", purpose="travel"), who=customer())
    assert [t.rule.id for t in decision.triggers] == [WALK_IN]
    loser = verdict_of(decision, TRAVEL_CARD).verdict
    assert (loser.outcome, loser.policy) == ("suppressed", "arbitration")
    assert WALK_IN in loser.detail and "70" in loser.detail


def test_care_is_not_arbitrated_against_sales() -> None:
    who, state = customer(), CustomerState()
    run(call(False, event_id="c-1"), state, who)
    run(call(False, event_id="c-2", occurred_at=at(hours=1)), state, who)
    decision = run(
        event("teller", "inquiry", event_id="q-1", occurred_at=at(hours=2), payload={"topic": "travel"}),
        state,
        who,
    )
    assert sorted(published(decision)) == sorted([UNRESOLVED, TRAVEL_CARD])


def test_a_second_sales_trigger_within_seven_days_is_capped() -> None:
    who, state = customer(), CustomerState()
    assert published(run(usd_deposit("80000.00", event_id="dep-1"), state, who)) == [WALK_IN]
    travel = event("teller", "inquiry", payload={"topic": "travel"})
    capped = run(moved(travel, "q-1", days=6), state, who)
    assert outcomes(capped) == [(TRAVEL_CARD, "suppressed", "frequency_cap")]
    assert "7 days" in verdict_of(capped, TRAVEL_CARD).verdict.detail
    assert published(run(moved(travel, "q-2", days=8), state, who)) == [TRAVEL_CARD]


def test_at_most_three_sales_triggers_in_30_days() -> None:
    who, state = customer(), CustomerState()
    decisions = []
    for n, day in enumerate((0, 8, 16, 24, 31)):
        started = application("application_started", minutes=day * 24 * 60, application_id=f"APP-{n}")
        [check] = checks_of(run(started, state, who), ABANDONED)
        decisions.append(run_due(check, state, who))
    assert "3 sales triggers in 30 days" in decisions[3].decided[0].verdict.detail
    assert [outcomes(d) for d in decisions] == [
        [(ABANDONED, "published", None)],
        [(ABANDONED, "published", None)],
        [(ABANDONED, "published", None)],
        [(ABANDONED, "suppressed", "frequency_cap")],  # day 25: days 1, 9 and 17 are within 30 days
        [(ABANDONED, "published", None)],  # day 32: day 1 has left the window
    ]


def test_a_declined_product_is_not_offered_again_until_the_date() -> None:
    declined = {"wealth_account": NOW + timedelta(days=30)}
    decision = run(usd_deposit("80000.00"), who=customer(), declined=declined)
    verdict = verdict_of(decision, WALK_IN).verdict
    assert (verdict.outcome, verdict.policy) == ("suppressed", "declined")
    assert "2026-12-25" in verdict.detail
    expired = {"wealth_account": NOW - timedelta(days=1)}
    assert published(run(usd_deposit("80000.00"), who=customer(), declined=expired)) == [WALK_IN]


def test_a_declined_offer_lets_the_next_sales_rule_win_the_moment() -> None:
    declined = {"wealth_account": NOW + timedelta(days=30)}
    decision = run(fx("60000.00", purpose="travel"), who=customer(), declined=declined)
    assert published(decision) == [TRAVEL_CARD]
    assert outcomes(decision) == [(WALK_IN, "suppressed", "declined"), (TRAVEL_CARD, "published", None)]


def held_out_customer_id() -> str:
    return next(cid for n in range(1, 1000) if in_control_group(cid := f"C{n:06d}", 0.5))


def test_a_control_group_customer_gets_no_sales_but_the_decision_is_recorded() -> None:
    customer_id = held_out_customer_id()
    who, state = customer(customer_id=customer_id), CustomerState()
    subject = Subject(customer_id, state, who)
    decision = decide(usd_deposit("80000.00"), subject, config(control_share=0.5))
    decided = verdict_of(decision, WALK_IN)
    assert (decided.verdict.outcome, decided.verdict.policy) == ("held_out", "control_group")
    assert decision.triggers == []
    assert decided.trigger is not None and decided.trigger.customer_id == customer_id  # the would-be trigger
    care = decide(event("phone", "complaint", occurred_at=at(days=1)), subject, config(control_share=0.5))
    assert published(care) == [COMPLAINT]


def test_customers_outside_the_control_group_get_their_sales_triggers() -> None:
    assert not in_control_group("C000001", 0.5)
    assert published(run(usd_deposit("80000.00"), who=customer(), control_share=0.5)) == [WALK_IN]


# --- engine conditions the default rules do not use -------------------------------------

_COUNT_MATCH_RULE = """
rules:
  - id: failed_logins_among_logins
    version: 1
    when:
      event: {channel: web, types: [login]}
      count:
        match: {channel: web, types: [login], payload: {success: {eq: false}}}
        at_least: 3
        within: 15m
    trigger:
      kind: care
      action: call
      priority: 50
      reason: "{count} failed logins"
      channels: {default: [phone]}
"""


def test_count_match_narrows_what_is_counted() -> None:
    rules = parse_rules(_COUNT_MATCH_RULE, source="test").rules
    cfg = replace(config(), rules=rules)
    subject = Subject("C000001", CustomerState(), customer())
    for minute in range(3):
        ok = login(True, minute, f"ok-{minute}")
        decision = decide(ok, subject, cfg)
        subject.state.apply(ok)
    assert outcomes(decision) == []  # three successful logins are not three failed ones


def test_the_default_rule_file_holds_the_ten_moments_then_the_key_account_moments() -> None:
    ids = [rule.id for rule in config().rules]
    assert ids[10:] == [
        "key_account_large_outflow",
        "company_fx_hedging_cross_sell",
        "key_account_complaint",
        "group_member_deposit_maturing",
    ]
    assert ids[:10] == [
        WALK_IN,
        BIRTHDAY,
        TIME_DEPOSIT,
        FX_UP_SELL,
        TRAVEL_CARD,
        COMPLAINT,
        UNRESOLVED,
        DISTRESS,
        ABANDONED,
        BRANCH_WAIT,
    ]
    assert all(rule.enabled for rule in config().rules)
