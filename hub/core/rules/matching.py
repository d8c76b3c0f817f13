"""Does an event, or a profile, meet a rule's conditions?"""

from decimal import Decimal
from typing import Any

from hub.core.money import Rates, UnknownCurrency, convert
from hub.core.rules.spec import EventMatch, Predicate, ProfileCondition
from schemas.interaction import (
    Interaction,
    TellerCashEvent,
    TellerFxExchangeEvent,
    TellerTimeDepositEvent,
)
from schemas.profile import CustomerProfile
from schemas.trigger import Tier


def event_money(event: Interaction) -> tuple[Decimal, str] | None:
    """The amount an event moves, in its own currency, if it moves money."""
    if isinstance(event, TellerCashEvent | TellerTimeDepositEvent):
        return event.payload.amount, event.payload.currency
    if isinstance(event, TellerFxExchangeEvent):
        return event.payload.sell_amount, event.payload.sell_currency
    return None


def payload_value(event: Interaction, field: str) -> Any:
    return getattr(event.payload, field, None)


def matches(match: EventMatch, event: Interaction, rates: Rates) -> bool:
    if match.any_of is not None and not any(matches(option, event, rates) for option in match.any_of):
        return False
    if match.channel is not None and event.channel != match.channel:
        return False
    if match.types is not None and event.type not in match.types:
        return False
    for field, predicate in match.payload.items():
        if not holds(predicate, payload_value(event, field)):
            return False
    if match.foreign_currency is not None or match.money_at_least is not None:
        money = event_money(event)
        if money is None:
            return False
        amount, currency = money
        if match.foreign_currency is not None and (currency != rates.home) != match.foreign_currency:
            return False
        if match.money_at_least is not None:
            threshold = match.money_at_least
            try:
                if convert(amount, currency, threshold.currency, rates=rates) < threshold.amount:
                    return False
            except UnknownCurrency:
                return False
    return True


def holds(predicate: Predicate, value: Any) -> bool:
    checks = predicate.model_fields_set
    if "eq" in checks and value != predicate.eq:
        return False
    if "ne" in checks and value == predicate.ne:
        return False
    if "in_" in checks and value not in (predicate.in_ or []):
        return False
    if "is_null" in checks and (value is None) != predicate.is_null:
        return False
    if "gte" in checks and (not _is_number(value) or value < predicate.gte):
        return False
    return not ("lte" in checks and (not _is_number(value) or value > predicate.lte))


def profile_holds(condition: ProfileCondition | None, profile: CustomerProfile | None, tier: Tier) -> bool:
    if condition is None:
        return True
    if condition.known is not None and (profile is not None) != condition.known:
        return False
    if profile is None:
        # Only "known: false" can be decided without a profile.
        return condition.known is False
    held = set(profile.products)
    return (
        (condition.tier_in is None or tier in condition.tier_in)
        and (condition.rm_assigned is None or (profile.rm_id is not None) == condition.rm_assigned)
        and (condition.holds_any_of is None or bool(held & set(condition.holds_any_of)))
        and (condition.holds_none_of is None or not held & set(condition.holds_none_of))
        and (condition.segment_in is None or profile.segment in condition.segment_in)
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)
