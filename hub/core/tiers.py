"""Customer tiers by value contribution (domain.md, "layered service").

People by assets under management (``private``, ``wealth``, ``affluent``, ``mass``);
companies (profile v3 ``customer_type: corporate``) by what they bring the bank: deposits
and loans plus FX and settlement volume, each weighted (``key_account``, ``large``,
``sme``). Thresholds and weights are configuration (``HUB_TIERS__CORPORATE__*``).
"""

from decimal import Decimal

from hub.core.money import Rates, UnknownCurrency, convert
from hub.settings import CorporateTierSettings, TierSettings
from schemas.common import Money
from schemas.profile import Corporate, CustomerProfile
from schemas.trigger import Tier


def tier_of(
    profile: CustomerProfile | None,
    thresholds: TierSettings,
    *,
    rates: Rates,
) -> Tier:
    """The tier of a customer; unknown customers and profiles without AUM are ``mass``,
    companies without figures ``sme``."""
    if profile is not None and profile.is_corporate:
        return corporate_tier(profile.corporate, thresholds.corporate, rates=rates)
    if profile is None or profile.assets_under_management is None:
        return "mass"
    value = _home(profile.assets_under_management, rates)
    if value is None:
        return "mass"
    if value >= thresholds.private:
        return "private"
    if value >= thresholds.wealth:
        return "wealth"
    if value >= thresholds.affluent:
        return "affluent"
    return "mass"


def corporate_tier(corporate: Corporate | None, thresholds: CorporateTierSettings, *, rates: Rates) -> Tier:
    value = contribution(corporate, thresholds, rates=rates)
    if value >= thresholds.key_account:
        return "key_account"
    if value >= thresholds.large:
        return "large"
    return "sme"


def contribution(corporate: Corporate | None, weights: CorporateTierSettings, *, rates: Rates) -> Decimal:
    """A company's weighted value contribution in the home currency; a figure in an
    unknown currency counts as nothing (as an AUM in one makes a person ``mass``)."""
    if corporate is None:
        return Decimal(0)
    parts = (
        (corporate.deposits, weights.deposits_weight),
        (corporate.loans, weights.loans_weight),
        (corporate.fx_volume, weights.fx_volume_weight),
        (corporate.settlement_volume, weights.settlement_volume_weight),
    )
    total = Decimal(0)
    for money, weight in parts:
        value = _home(money, rates) if money is not None else None
        if value is not None:
            total += value * weight
    return total


def _home(money: Money, rates: Rates) -> Decimal | None:
    try:
        return convert(money.amount, money.currency, rates.home, rates=rates)
    except UnknownCurrency:
        return None
