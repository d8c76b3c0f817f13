"""Does an event, or a profile, meet a rule's conditions?

:func:`matches` says what an :class:`EventMatch` means. The engine runs the same test
compiled by :func:`compile_match` for one kind of event (channel and type): what the kind
alone decides (its channel and type, ``any_of`` options of other kinds) is settled once
per rule set, and the rest becomes one closure per condition with its constants bound.
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal

from hub.core.money import Rates, UnknownCurrency, convert
from hub.core.rules.spec import EventMatch, OutflowCondition, Predicate, ProfileCondition
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
        and (condition.customer_type is None or profile.customer_type == condition.customer_type)
        and (condition.in_group is None or (profile.group_id is not None) == condition.in_group)
    )


def large_outflow(
    condition: OutflowCondition, event: Interaction, profile: CustomerProfile | None, rates: Rates
) -> bool:
    """Whether the money ``event`` moves is large for the company (:class:`OutflowCondition`)."""
    money = event_money(event)
    if money is None:
        return False
    try:
        amount = convert(*money, rates.home, rates=rates)
        floor = condition.or_money_at_least
        if floor is not None and amount >= convert(floor.amount, floor.currency, rates.home, rates=rates):
            return True
        corporate = profile.corporate if profile is not None else None
        deposits = corporate.deposits if corporate is not None else None
        if deposits is None:
            return False
        return amount >= condition.share_of_deposits * convert(
            deposits.amount, deposits.currency, rates.home, rates=rates
        )
    except UnknownCurrency:
        return False


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


# --- compiled for one kind of event -------------------------------------------------

Matcher = Callable[[Interaction, Rates], bool]
"""The part of an :class:`EventMatch` that the kind of the event does not decide."""

Compiled = Matcher | Literal[True, False]
"""True: every event of the kind matches; False: none does; else a test for the rest."""


def compile_match(match: EventMatch, channel: str, type_: str) -> Compiled:
    """``match`` for the events of ``channel`` and ``type_``, the same as :func:`matches`."""
    if match.channel is not None and channel != match.channel:
        return False
    if match.types is not None and type_ not in match.types:
        return False
    checks: list[Matcher] = []
    if match.any_of is not None:
        options = [compile_match(option, channel, type_) for option in match.any_of]
        if not any(option is True for option in options):
            live = tuple(option for option in options if not isinstance(option, bool))
            if not live:
                return False
            checks.append(_any_of(live))
    checks += [_payload_check(field, predicate) for field, predicate in match.payload.items()]
    if match.foreign_currency is not None or match.money_at_least is not None:
        checks.append(_money_check(match))
    if not checks:
        return True
    if len(checks) == 1:
        return checks[0]
    return _all_of(tuple(checks))


def _any_of(options: tuple[Matcher, ...]) -> Matcher:
    return lambda event, rates: any(option(event, rates) for option in options)


def _all_of(checks: tuple[Matcher, ...]) -> Matcher:
    def all_hold(event: Interaction, rates: Rates) -> bool:
        for check in checks:  # noqa: SIM110 (a loop: no generator to make per event)
            if not check(event, rates):
                return False
        return True

    return all_hold


def _payload_check(field: str, predicate: Predicate) -> Matcher:
    test = value_test(predicate)
    return lambda event, rates: test(getattr(event.payload, field, None))


def value_test(predicate: Predicate) -> Callable[[Any], bool]:
    """:func:`holds` with the predicate's operators and operands bound once."""
    checks = predicate.model_fields_set
    tests: list[Callable[[Any], bool]] = []
    if "eq" in checks:
        eq = predicate.eq
        tests.append(lambda value: value == eq)
    if "ne" in checks:
        ne = predicate.ne
        tests.append(lambda value: value != ne)
    if "in_" in checks:
        options = tuple(predicate.in_ or ())
        tests.append(lambda value: value in options)
    if "is_null" in checks:
        is_null = predicate.is_null
        tests.append(lambda value: (value is None) == is_null)
    if "gte" in checks:
        gte = predicate.gte
        tests.append(lambda value: _is_number(value) and not value < gte)
    if "lte" in checks:
        lte = predicate.lte
        tests.append(lambda value: _is_number(value) and not value > lte)
    if len(tests) == 1:
        return tests[0]
    every = tuple(tests)
    return lambda value: all(test(value) for test in every)


def _money_check(match: EventMatch) -> Matcher:
    foreign, threshold = match.foreign_currency, match.money_at_least

    def money_holds(event: Interaction, rates: Rates) -> bool:
        money = event_money(event)
        if money is None:
            return False
        amount, currency = money
        if foreign is not None and (currency != rates.home) != foreign:
            return False
        if threshold is not None:
            try:
                if convert(amount, currency, threshold.currency, rates=rates) < threshold.amount:
                    return False
            except UnknownCurrency:
                return False
        return True

    return money_holds
