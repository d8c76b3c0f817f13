"""Companies' tiers and the four key-account moments of the default rules, with the
group-level cap: for each, what it proposes (and to which RM), and the near misses."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from hub.core.decide import Decision, Subject, decide, decide_due
from hub.core.groups import GroupPitches
from hub.core.records import Side
from hub.core.state import CustomerState
from hub.core.tiers import tier_of
from hub.settings import CorporateTierSettings, TierSettings
from schemas.interaction import Interaction
from schemas.profile import CustomerProfile
from tests.factories import NOW, company
from tests.unit.core.decisions import RULES, config, customer, event, published

TREASURER, COMPANY, GROUP = "C000001", "K000001", "G000001"
OUTFLOW, HEDGING, COMPLAINT, MATURING = (
    "key_account_large_outflow",
    "company_fx_hedging_cross_sell",
    "key_account_complaint",
    "group_member_deposit_maturing",
)


def firm(**corporate: Any) -> CustomerProfile:
    return CustomerProfile.model_validate(company(corporate=corporate))


def group_profile() -> CustomerProfile:
    return CustomerProfile.model_validate(
        company(customer_id=GROUP, corporate={"rm_team": {"lead_rm_id": "RM-GROUP"}})
    )


def for_company(channel: str, type_: str, **fields: Any) -> Interaction:
    """The company's copy of an event a treasurer did for it."""
    return event(
        channel,
        type_,
        schema_version=2,
        on_behalf_of=COMPANY,
        customer={"customer_id": TREASURER},
        **fields,
    )


def decide_for(
    ev: Interaction,
    who: CustomerProfile,
    side: Side = "represented",
    state: CustomerState | None = None,
    **subject: Any,
) -> Decision:
    customer_id = COMPANY if side == "represented" else who.customer_id
    return decide(ev, Subject(customer_id, state or CustomerState(), who, {}, **subject), config(), side)


def withdrawal(amount: str, currency: str = "CNY") -> Interaction:
    return for_company(
        "teller", "withdrawal", payload={"amount": amount, "currency": currency, "account_type": "current"}
    )


# --- tiers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("figures", "tier"),
    [
        ({}, "key_account"),  # deposits 20 M + loans 80 M
        ({"loans": None}, "large"),  # 20 M + flows weighted down
        ({"deposits": None, "loans": None, "fx_volume": None, "settlement_volume": None}, "sme"),
        ({"loans": {"amount": "12000000.00", "currency": "USD"}}, "key_account"),  # converted
    ],
)
def test_a_company_is_tiered_by_its_value_contribution(figures: dict[str, Any], tier: str) -> None:
    assert tier_of(firm(**figures), TierSettings(), rates=config().rates) == tier


def test_corporate_thresholds_and_weights_are_configuration() -> None:
    settings = TierSettings(corporate=CorporateTierSettings(key_account=Decimal("200000000")))
    assert tier_of(firm(), settings, rates=config().rates) == "large"
    heavy_flows = TierSettings(corporate=CorporateTierSettings(settlement_volume_weight=Decimal("1")))
    assert tier_of(firm(loans=None), heavy_flows, rates=config().rates) == "key_account"
    assert tier_of(customer(), TierSettings(), rates=config().rates) == "wealth", "people as before"


# --- 11. large outflow ----------------------------------------------------------------


def test_a_key_accounts_withdrawal_of_a_large_share_of_its_deposits_calls_its_lead_rm() -> None:
    decision = decide_for(withdrawal("6000000.00"), firm())  # 30% of 20 M deposits
    [trigger] = decision.triggers
    assert (trigger.rule.id, trigger.kind, trigger.action) == (OUTFLOW, "care", "call")
    assert trigger.customer_id == COMPANY and trigger.tier == "key_account"
    assert trigger.addressed_to is not None
    assert (trigger.addressed_to.role, trigger.addressed_to.rm_id) == ("lead_rm", "RM-LEAD")
    assert trigger.schema_version == 2 and trigger.recommended_channel == "phone"


def test_a_withdrawal_below_the_share_and_the_amount_is_no_outflow() -> None:
    assert published(decide_for(withdrawal("5999999.99"), firm())) == []


def test_the_amount_alone_suffices_when_the_deposits_are_not_known() -> None:
    assert published(
        decide_for(withdrawal("10000000.00"), firm(deposits=None, loans={"amount": "1E8", "currency": "CNY"}))
    ) == [OUTFLOW]
    assert (
        published(
            decide_for(
                withdrawal("9999999.00"), firm(deposits=None, loans={"amount": "1E8", "currency": "CNY"})
            )
        )
        == []
    )


def test_the_outflow_moment_is_for_key_accounts_and_on_the_company_side_only() -> None:
    assert published(decide_for(withdrawal("8000000.00"), firm(loans=None))) == [], "a large company"
    assert published(decide_for(withdrawal("8000000.00"), customer(), side="acting")) == [], "the treasurer"


def test_the_rm_call_goes_out_once_for_two_outflows_on_one_day() -> None:
    state = CustomerState()
    first = decide_for(withdrawal("7000000.00"), firm(), state=state)
    later = withdrawal("7000000.00").model_copy(
        update={"event_id": "later", "occurred_at": NOW + timedelta(hours=3)}
    )
    second = decide_for(later, firm(), state=state)
    assert published(first) == [OUTFLOW] and published(second) == []
    assert second.decided[0].verdict.policy == "frequency_cap"


# --- 12. FX without hedging -----------------------------------------------------------

FX = {"sell_amount": "250000.00", "sell_currency": "USD", "buy_currency": "CNY", "purpose": "trade"}


def test_a_companys_fx_activity_without_hedging_offers_hedging_to_its_lead_rm() -> None:
    [trigger] = decide_for(for_company("teller", "fx_exchange", payload=FX), firm()).triggers
    assert (trigger.rule.id, trigger.kind, trigger.product) == (HEDGING, "cross_sell", "fx_hedging")
    assert trigger.addressed_to is not None and trigger.addressed_to.rm_id == "RM-LEAD"


def test_a_company_holding_a_hedging_product_gets_no_offer() -> None:
    hedged = firm().model_copy(update={"products": ["fx_hedging"]})
    assert published(decide_for(for_company("teller", "fx_exchange", payload=FX), hedged)) == []


def test_a_treasurers_exchange_for_the_company_is_no_personal_sale() -> None:
    big = {**FX, "sell_amount": "90000.00", "purpose": "travel"}
    acting = decide_for(for_company("teller", "fx_exchange", payload=big), customer(), side="acting")
    assert published(acting) == []
    own = decide_for(event("teller", "fx_exchange", payload=big), customer(), side="own")
    assert "high_value_walk_in_rm_referral" in published(own), "their own exchange still is"


# --- 13. complaint for a key account --------------------------------------------------


def test_a_complaint_for_a_key_account_is_followed_up_by_its_lead_rm_within_4_hours() -> None:
    complaint = for_company("phone", "complaint", payload={"complaint_id": "CMP-7"})
    [trigger] = decide_for(complaint, firm()).triggers
    assert (trigger.rule.id, trigger.action) == (COMPLAINT, "follow_up")
    assert trigger.expires_at - trigger.not_before == timedelta(hours=4)
    assert trigger.addressed_to is not None and trigger.addressed_to.rm_id == "RM-LEAD"
    personal = decide_for(complaint, customer(), side="acting")
    assert published(personal) == ["complaint_follow_up"], "the treasurer is followed up too"


def test_a_complaint_for_a_small_company_gets_no_key_account_follow_up() -> None:
    complaint = for_company("phone", "complaint", payload={"complaint_id": "CMP-8"})
    assert published(decide_for(complaint, firm(deposits=None, loans=None))) == []


# --- 14. a group member's deposit maturing --------------------------------------------


def test_a_group_members_maturing_deposit_is_a_cross_sell_for_the_groups_lead_rm() -> None:
    opened = for_company("teller", "time_deposit_opened", payload={"amount": "3000000.00"})
    member = firm(group_id=GROUP)
    state = CustomerState()
    scheduled = decide_for(opened, member, state=state, group_id=GROUP, group=group_profile())
    [check] = [c for c in scheduled.schedules if c.rule.id == MATURING]
    assert check.customer_id == COMPANY and check.due_at.date().isoformat() == "2027-11-18"
    due = decide_due(check, Subject(COMPANY, state, member, {}, GROUP, group_profile()), config())
    [trigger] = due.triggers
    assert (trigger.kind, trigger.product) == ("cross_sell", "corporate_structured_deposit")
    assert trigger.addressed_to is not None
    assert (trigger.addressed_to.role, trigger.addressed_to.rm_id) == ("group_lead_rm", "RM-GROUP")


def test_a_company_in_no_group_and_the_treasurer_schedule_no_group_check() -> None:
    opened = for_company("teller", "time_deposit_opened", payload={"amount": "3000000.00"})
    alone = decide_for(opened, firm())
    assert [c.rule.id for c in alone.schedules] == []
    acting = decide_for(opened, customer(), side="acting")
    maturing = {"time_deposit_maturing", MATURING}
    assert [c.rule.id for c in acting.schedules if c.rule.id in maturing] == [], "not the treasurer's own"


# --- the group-level cap --------------------------------------------------------------


def _pitch(member: str, pitches: GroupPitches, days: int = 0, **policy: Any) -> Decision:
    ev = for_company("teller", "fx_exchange", payload=FX).model_copy(
        update={"event_id": f"fx-{member}-{days}", "occurred_at": NOW + timedelta(days=days)}
    )
    who = CustomerProfile.model_validate(company(customer_id=member, corporate={"group_id": GROUP}))
    subject = Subject(member, CustomerState(), who, {}, GROUP, group_profile(), pitches)
    return decide(ev, subject, config(**policy), "represented")


def test_two_members_are_not_pitched_the_same_product_in_the_same_week() -> None:
    pitches = GroupPitches()
    first, second = _pitch("K1", pitches), _pitch("K2", pitches, days=1)
    assert published(first) == [HEDGING] and published(second) == []
    [stopped] = second.decided
    assert stopped.verdict.policy == "group_cap"
    assert first.triggers[0].trigger_id in stopped.verdict.detail
    assert [(key[0], key[1]) for key, _, customer_id in pitches.claimed] == [(GROUP, "fx_hedging")]


def test_the_cap_is_per_calendar_week_and_a_replay_finds_its_own_claim() -> None:
    pitches = GroupPitches()
    first = _pitch("K1", pitches)  # Wednesday 25 November 2026
    assert published(_pitch("K2", pitches, days=5)) == [HEDGING], "Monday of the next week"
    replayed = _pitch("K1", GroupPitches(dict(pitches.stored)))
    assert [t.trigger_id for t in replayed.triggers] == [t.trigger_id for t in first.triggers]


def test_the_group_cap_can_be_switched_off() -> None:
    pitches = GroupPitches()
    _pitch("K1", pitches, group_cap=False)
    assert published(_pitch("K2", pitches, group_cap=False)) == [HEDGING]


def test_the_rules_load_with_the_key_account_moments() -> None:
    assert {OUTFLOW, HEDGING, COMPLAINT, MATURING} <= {rule.id for rule in RULES}
