"""Customer profile reference data from CRM / core banking (``customers.profile``)."""

from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, Field, field_validator, model_validator

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
    """Version 1, or version 2 which adds ``merged_into``; both are accepted."""

    customer_id: NonEmptyStr
    schema_version: Literal[1, 2] = 1
    birth_date: date | None = None
    time_zone: str | None = None
    segment: Segment = "retail"
    assets_under_management: Money | None = None
    products: list[NonEmptyStr] = Field(default_factory=list)
    rm_id: NonEmptyStr | None = None
    consents: Consents = Field(default_factory=Consents)
    identifiers: Identifiers = Field(default_factory=Identifiers)
    updated_at: AwareDatetime
    merged_into: NonEmptyStr | None = None
    """(version 2) CRM found this customer to be the same person as ``merged_into``: its
    history reads as the survivor's and later events go to the survivor."""

    @model_validator(mode="after")
    def _merge_needs_version_2(self) -> "CustomerProfile":
        if self.merged_into is not None:
            if self.schema_version < 2:
                raise ValueError("merged_into needs schema_version 2")
            if self.merged_into == self.customer_id:
                raise ValueError("a customer cannot be merged into itself")
        return self

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        # OSError: a name longer than a file name may be (the zone files are looked up by it).
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            shown = value if len(value) <= 40 else f"{value[:39]}…"
            raise ValueError(f"unknown IANA time zone {shown!r}") from exc
        return value
