from datetime import timedelta
from decimal import Decimal

import pytest

from hub.core.decide import DecisionConfig, decide, trigger_id
from hub.core.rules import COMPLAINT_FOLLOW_UP, HIGH_VALUE_WALK_IN
from hub.core.state import CustomerState
from hub.settings import DEFAULT_FX_RATES, RuleSettings, TierSettings
from schemas.interaction import INTERACTION_ADAPTER, Interaction
from schemas.profile import CustomerProfile
from tests.factories import NOW, envelope, profile, raw

CONFIG = DecisionConfig(RuleSettings(), TierSettings(), DEFAULT_FX_RATES, "CNY")


def event(channel: str = "teller", type_: str = "deposit", **overrides: object) -> Interaction:
    return INTERACTION_ADAPTER.validate_json(raw(envelope(channel, type_, **overrides)))


def customer(**overrides: object) -> CustomerProfile:
    return CustomerProfile.model_validate(profile(**overrides))


def usd_deposit(amount: str, **overrides: object) -> Interaction:
    return event(payload={"amount": amount, "currency": "USD", "account_type": "fx"}, **overrides)


# --- moment 1: high-value walk-in -------------------------------------------------------


def test_large_foreign_deposit_without_rm_is_referred_to_an_rm() -> None:
    decision = decide(usd_deposit("50000.00"), CustomerState(), customer(), CONFIG)
    [trigger] = decision.triggers
    assert trigger.kind == "rm_referral"
    assert trigger.rule == HIGH_VALUE_WALK_IN
    assert trigger.product == "wealth_account"
    assert trigger.evidence == ["evt-teller-deposit"]
    assert trigger.tier == "wealth"  # 820,000 CNY of AUM
    assert trigger.recommended_channel == "phone"
    assert trigger.created_at == NOW and trigger.expires_at == NOW + timedelta(days=7)
    assert "50,000.00 USD" in trigger.reason


def test_threshold_is_in_usd_equivalent_for_other_currencies() -> None:
    # 46,200 EUR * 7.70 / 7.10 = 50,104 USD: above; 46,000 EUR = 49,887 USD: below.
    above = event(payload={"amount": "46200.00", "currency": "EUR", "account_type": "fx"})
    below = event(payload={"amount": "46000.00", "currency": "EUR", "account_type": "fx"})
    assert decide(above, CustomerState(), customer(), CONFIG).triggers
    assert not decide(below, CustomerState(), customer(), CONFIG).triggers


def test_fx_exchange_of_foreign_currency_counts_too() -> None:
    exchange = event("teller", "fx_exchange", payload={"sell_amount": "60000.00", "sell_currency": "USD"})
    assert decide(exchange, CustomerState(), customer(), CONFIG).triggers[0].kind == "rm_referral"


@pytest.mark.parametrize(
    ("ev", "who"),
    [
        (lambda: usd_deposit("49999.99"), lambda: customer()),
        (lambda: usd_deposit("80000.00"), lambda: customer(rm_id="RM-7")),
        (lambda: event(payload={"amount": "900000.00", "currency": "CNY"}), lambda: customer()),
        (
            lambda: event("teller", "withdrawal", payload={"amount": "90000.00", "currency": "USD"}),
            lambda: customer(),
        ),
        (lambda: usd_deposit("80000.00"), lambda: None),
    ],
    ids=["below-threshold", "has-rm", "home-currency", "withdrawal", "no-profile"],
)
def test_walk_in_does_not_fire(ev, who) -> None:  # type: ignore[no-untyped-def]
    assert not decide(ev(), CustomerState(), who(), CONFIG).triggers


def test_threshold_is_configuration() -> None:
    config = DecisionConfig(
        RuleSettings(walk_in_min_usd=Decimal("100000")), TierSettings(), DEFAULT_FX_RATES, "CNY"
    )
    assert not decide(usd_deposit("80000.00"), CustomerState(), customer(), config).triggers


def test_no_sales_without_marketing_consent_and_the_suppression_says_why() -> None:
    who = customer(consents={"marketing": False, "phone": True, "sms": True, "email": True})
    decision = decide(usd_deposit("80000.00"), CustomerState(), who, CONFIG)
    assert not decision.triggers
    assert decision.suppressed[0].policy.startswith("consent:")


def test_channel_follows_consent() -> None:
    who = customer(consents={"marketing": True, "phone": False, "sms": True, "email": False})
    assert (
        decide(usd_deposit("80000.00"), CustomerState(), who, CONFIG).triggers[0].recommended_channel
        == "branch"
    )


def test_no_sales_while_a_complaint_is_open() -> None:
    state = CustomerState()
    state.apply(event("phone", "complaint", event_id="c-1"))
    decision = decide(usd_deposit("80000.00"), state, customer(), CONFIG)
    assert not decision.triggers and decision.suppressed[0].policy.startswith("complaint_open:")
    state.apply(event("phone", "complaint_resolved", event_id="c-2"))
    assert decide(usd_deposit("80000.00"), state, customer(), CONFIG).triggers


def test_walk_in_referral_is_not_repeated_within_the_cooldown() -> None:
    state = CustomerState()
    state.record_fired(HIGH_VALUE_WALK_IN.id, NOW - timedelta(days=29))
    assert not decide(usd_deposit("80000.00"), state, customer(), CONFIG).triggers
    state = CustomerState()
    state.record_fired(HIGH_VALUE_WALK_IN.id, NOW - timedelta(days=31))
    assert decide(usd_deposit("80000.00"), state, customer(), CONFIG).triggers


# --- moment 6: complaint follow-up -----------------------------------------------------


def test_complaint_gets_a_care_follow_up_within_24_hours() -> None:
    [trigger] = decide(event("phone", "complaint"), CustomerState(), customer(), CONFIG).triggers
    assert (trigger.kind, trigger.action, trigger.product) == ("care", "follow_up", None)
    assert trigger.rule == COMPLAINT_FOLLOW_UP
    assert trigger.expires_at - trigger.created_at == timedelta(hours=24)
    assert "CMP-1" in trigger.reason


def test_high_severity_complaint_is_followed_up_sooner_and_first() -> None:
    high = event("phone", "complaint", payload={"severity": "high"})
    medium = event("phone", "complaint")
    [t_high] = decide(high, CustomerState(), customer(), CONFIG).triggers
    [t_medium] = decide(medium, CustomerState(), customer(), CONFIG).triggers
    assert t_high.expires_at - t_high.created_at == timedelta(hours=4)
    assert t_high.priority > t_medium.priority


def test_care_goes_out_without_marketing_consent_and_without_a_profile() -> None:
    who = customer(consents={"marketing": False, "phone": True, "sms": False, "email": False})
    assert decide(event("phone", "complaint"), CustomerState(), who, CONFIG).triggers
    assert decide(event("phone", "complaint"), CustomerState(), None, CONFIG).triggers[0].tier == "mass"


# --- determinism ------------------------------------------------------------------------


def test_the_same_event_gives_the_same_trigger() -> None:
    first = decide(usd_deposit("80000.00"), CustomerState(), customer(), CONFIG).triggers
    again = decide(usd_deposit("80000.00"), CustomerState(), customer(), CONFIG).triggers
    assert first == again


def test_trigger_id_depends_on_rule_version_customer_and_evidence() -> None:
    base = trigger_id("r", 1, "C1", ("e1",))
    assert base == trigger_id("r", 1, "C1", ("e1",))
    assert (
        len(
            {
                base,
                trigger_id("r", 2, "C1", ("e1",)),
                trigger_id("r", 1, "C2", ("e1",)),
                trigger_id("r", 1, "C1", ("e2",)),
            }
        )
        == 4
    )
