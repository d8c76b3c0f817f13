"""Customer profile reference data from CRM / core banking (``customers.profile``)."""

from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, Field, field_validator

from schemas.common import ContractModel, Money, NonEmptyStr

Segment = Literal["retail", "private", "corporate"]


class Consents(ContractModel):
    marketing: bool = False
    phone: bool = False
    sms: bool = False
    email: bool = False


class Identifiers(ContractModel):
    account_no: list[NonEmptyStr] = Field(default_factory=list)
    card_no: list[NonEmptyStr] = Field(default_factory=list)
    phone: list[NonEmptyStr] = Field(default_factory=list)
    web_user: list[NonEmptyStr] = Field(default_factory=list)


class CustomerProfile(ContractModel):
    customer_id: NonEmptyStr
    birth_date: date | None = None
    time_zone: str | None = None
    segment: Segment = "retail"
    assets_under_management: Money | None = None
    products: list[NonEmptyStr] = Field(default_factory=list)
    rm_id: NonEmptyStr | None = None
    consents: Consents = Field(default_factory=Consents)
    identifiers: Identifiers = Field(default_factory=Identifiers)
    updated_at: AwareDatetime

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value
