"""Currency conversion with configured reference rates."""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal


class UnknownCurrency(KeyError):
    """No reference rate is configured for this currency."""


@dataclass(frozen=True, slots=True)
class Rates:
    """Reference rates: units of the ``home`` currency per one unit of each currency."""

    per_unit: Mapping[str, Decimal]
    home: str

    def of(self, currency: str) -> Decimal:
        if currency == self.home:
            return Decimal(1)
        try:
            return self.per_unit[currency]
        except KeyError:
            raise UnknownCurrency(currency) from None


def convert(amount: Decimal, currency: str, target: str, *, rates: Rates) -> Decimal:
    """Convert ``amount`` of ``currency`` into ``target`` through the home currency.

    >>> convert(Decimal("100"), "USD", "CNY", rates=Rates({"USD": Decimal("7")}, "CNY"))
    Decimal('700')
    """
    if currency == target:
        return amount
    return amount * rates.of(currency) / rates.of(target)
