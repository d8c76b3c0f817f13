"""Customer tiers by value contribution (domain.md, "layered service")."""

from hub.core.money import Rates, UnknownCurrency, convert
from hub.settings import TierSettings
from schemas.profile import CustomerProfile
from schemas.trigger import Tier


def tier_of(
    profile: CustomerProfile | None,
    thresholds: TierSettings,
    *,
    rates: Rates,
) -> Tier:
    """The tier of a customer; unknown customers and profiles without AUM are ``mass``."""
    if profile is None or profile.assets_under_management is None:
        return "mass"
    aum = profile.assets_under_management
    try:
        value = convert(aum.amount, aum.currency, rates.home, rates=rates)
    except UnknownCurrency:
        return "mass"
    if value >= thresholds.private:
        return "private"
    if value >= thresholds.wealth:
        return "wealth"
    if value >= thresholds.affluent:
        return "affluent"
    return "mass"
