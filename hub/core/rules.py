"""The default rules (domain.md, "Moments that should trigger an action").

A rule looks at one new event, the customer's state before it and the profile, and
proposes at most one trigger. Rules know nothing of consent, caps or channels' consent:
that is :mod:`hub.core.policy`'s job.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from hub.core.drafts import TriggerDraft
from hub.core.money import UnknownCurrency, convert
from hub.core.state import CustomerState
from hub.settings import RuleSettings
from schemas.interaction import Interaction, PhoneComplaintEvent, TellerCashEvent, TellerFxExchangeEvent
from schemas.profile import CustomerProfile
from schemas.trigger import RuleRef, Tier

HIGH_VALUE_WALK_IN = RuleRef(id="high_value_walk_in_rm_referral", version=1)
COMPLAINT_FOLLOW_UP = RuleRef(id="complaint_follow_up", version=1)


@dataclass(frozen=True, slots=True)
class RuleContext:
    profile: CustomerProfile | None
    tier: Tier
    settings: RuleSettings
    rates: Mapping[str, Decimal]
    home_currency: str


Rule = Callable[[Interaction, CustomerState, RuleContext], TriggerDraft | None]


def high_value_walk_in(event: Interaction, state: CustomerState, ctx: RuleContext) -> TriggerDraft | None:
    """Moment 1: a large foreign-currency deposit or exchange by a customer without an RM."""
    if isinstance(event, TellerCashEvent) and event.type == "deposit":
        amount, currency = event.payload.amount, event.payload.currency
    elif isinstance(event, TellerFxExchangeEvent):
        amount, currency = event.payload.sell_amount, event.payload.sell_currency
    else:
        return None
    if currency == ctx.home_currency or ctx.profile is None or ctx.profile.rm_id is not None:
        return None
    try:
        usd = convert(amount, currency, "USD", rates=ctx.rates, home=ctx.home_currency)
    except UnknownCurrency:
        return None
    if usd < ctx.settings.walk_in_min_usd:
        return None
    return TriggerDraft(
        rule=HIGH_VALUE_WALK_IN,
        kind="rm_referral",
        action="offer",
        product="wealth_account",
        reason=(
            f"{event.type.replace('_', ' ')} of {amount:,.2f} {currency}"
            + ("" if currency == "USD" else f" (about {usd:,.0f} USD)")
            + " at the counter by a customer without a relationship manager"
        ),
        evidence=(event.event_id,),
        priority=70,
        channels=("phone", "branch"),
        valid_for=timedelta(days=7),
        cooldown=timedelta(days=ctx.settings.walk_in_cooldown_days),
    )


def complaint_follow_up(event: Interaction, state: CustomerState, ctx: RuleContext) -> TriggerDraft | None:
    """Moment 6: every new complaint gets a follow-up, sooner when it is severe."""
    if not isinstance(event, PhoneComplaintEvent) or state.has_seen(event.event_id):
        return None
    complaint = event.payload
    high = complaint.severity == "high"
    hours = ctx.settings.complaint_high_follow_up_hours if high else ctx.settings.complaint_follow_up_hours
    return TriggerDraft(
        rule=COMPLAINT_FOLLOW_UP,
        kind="care",
        action="follow_up",
        product=None,
        reason=(
            f"{complaint.severity}-severity complaint {complaint.complaint_id} about "
            f"{complaint.category.replace('_', ' ')}: follow up within {hours} hours"
        ),
        evidence=(event.event_id,),
        priority=95 if high else 85,
        channels=("phone", "sms", "email", "branch"),
        valid_for=timedelta(hours=hours),
    )


DEFAULT_RULES: tuple[Rule, ...] = (high_value_walk_in, complaint_follow_up)
