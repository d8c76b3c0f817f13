"""Currency conversion with configured reference rates."""

from collections.abc import Mapping
from decimal import Decimal


class UnknownCurrency(KeyError):
    """No reference rate is configured for this currency."""


def convert(
    amount: Decimal, currency: str, target: str, *, rates: Mapping[str, Decimal], home: str
) -> Decimal:
    """Convert ``amount`` of ``currency`` into ``target`` through the home currency.

    ``rates`` gives units of the home currency per one unit of each currency; the home
    currency itself is 1 whether or not it is listed.

    >>> convert(Decimal("100"), "USD", "CNY", rates={"USD": Decimal("7")}, home="CNY")
    Decimal('700')
    """
    if currency == target:
        return amount
    return amount * _rate(currency, rates, home) / _rate(target, rates, home)


def _rate(currency: str, rates: Mapping[str, Decimal], home: str) -> Decimal:
    if currency == home:
        return Decimal(1)
    try:
        return rates[currency]
    except KeyError:
        raise UnknownCurrency(currency) from None
