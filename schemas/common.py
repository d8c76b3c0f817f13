"""Field types shared by the contract's models."""

from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)


def _decimal_from_string(value: Any) -> Any:
    # The contract carries money as a decimal string; a JSON number would be a float
    # somewhere upstream and may already have lost cents.
    if isinstance(value, (float, int)) and not isinstance(value, bool):
        raise ValueError('money must be a decimal string such as "12500.00", not a number')
    return value


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("amount must be a finite decimal")
    return value


# The published JSON Schema describes the contract's form, a decimal string: pydantic's
# own would say "number or string" (a number is refused) and carry a bound as "gt", which
# JSON Schema does not know.
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
POSITIVE_DECIMAL_PATTERN = r"^([0-9]*[1-9][0-9]*(\.[0-9]+)?|[0-9]+\.[0-9]*[1-9][0-9]*)$"

Amount = Annotated[
    Decimal,
    BeforeValidator(_decimal_from_string),
    AfterValidator(_finite),
    PlainSerializer(lambda d: str(d), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": DECIMAL_PATTERN, "examples": ["12500.00"]}),
]
"""A non-float decimal amount, serialised back as a string."""

PositiveAmount = Annotated[
    Amount,
    Field(gt=0),
    WithJsonSchema({"type": "string", "pattern": POSITIVE_DECIMAL_PATTERN, "examples": ["12500.00"]}),
]
"""An amount greater than zero, such as a deposit's."""

CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
"""An ISO 4217 alphabetic code such as ``USD``."""

NonEmptyStr = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class ContractModel(BaseModel):
    """Base of every contract model: immutable, unknown fields ignored for forward compatibility."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Money(ContractModel):
    amount: Amount
    currency: CurrencyCode
