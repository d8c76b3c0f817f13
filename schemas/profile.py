"""Customer profile reference data from CRM / core banking (``customers.profile``)."""

from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, Field, field_validator, model_validator

from schemas.common import ContractModel, Money, NonEmptyStr

Segment = Literal["retail", "private", "corporate"]
CustomerType = Literal["individual", "corporate"]


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


class RmTeam(ContractModel):
    """The relationship managers who serve a company (a key account's team)."""

    lead_rm_id: NonEmptyStr
    members: list[NonEmptyStr] = Field(default_factory=list)
    """The other RMs of the team, lead not repeated."""


class Corporate(ContractModel):
    """(version 3) What the bank knows of a company: who it is, whose group it belongs to,
    who serves it, and what it contributes (the figures its tier is worked out from)."""

    organisation_code: NonEmptyStr | None = None
    """The unified social credit code. Kept by the hub only as a keyed hash and a masked
    form, like card and phone numbers."""
    industry: NonEmptyStr | None = None
    group_id: NonEmptyStr | None = None
    """The group (itself a corporate profile) this company is a member of; groups nest."""
    rm_team: RmTeam | None = None
    deposits: Money | None = None
    """Balances held with the bank: the base of the large-outflow moment."""
    loans: Money | None = None
    fx_volume: Money | None = None
    """Foreign-exchange volume over the last 12 months."""
    settlement_volume: Money | None = None
    """Settlement (payments) volume over the last 12 months."""


class CustomerProfile(ContractModel):
    """Version 1; version 2 adds ``merged_into``; version 3 adds ``customer_type`` and, for
    companies and groups, ``corporate``. Every version is accepted."""

    customer_id: NonEmptyStr
    schema_version: Literal[1, 2, 3] = 1
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
    customer_type: CustomerType = "individual"
    """(version 3) A person, or a company (a group of companies is a company too)."""
    corporate: Corporate | None = None
    """(version 3) Only for ``customer_type: corporate``."""

    @model_validator(mode="after")
    def _merge_needs_version_2(self) -> "CustomerProfile":
        if self.merged_into is not None:
            if self.schema_version < 2:
                raise ValueError("merged_into needs schema_version 2")
            if self.merged_into == self.customer_id:
                raise ValueError("a customer cannot be merged into itself")
        return self

    @model_validator(mode="after")
    def _corporate_needs_version_3(self) -> "CustomerProfile":
        if self.customer_type == "corporate" and self.schema_version < 3:
            raise ValueError("customer_type corporate needs schema_version 3")
        if self.corporate is not None:
            if self.customer_type != "corporate":
                raise ValueError("corporate is only for customer_type corporate")
            if self.corporate.group_id == self.customer_id:
                raise ValueError("a company cannot be a member of its own group")
        return self

    @property
    def is_corporate(self) -> bool:
        return self.customer_type == "corporate"

    @property
    def group_id(self) -> str | None:
        return self.corporate.group_id if self.corporate is not None else None

    @property
    def lead_rm_id(self) -> str | None:
        """The lead of a company's RM team; for a person, their own RM."""
        if self.corporate is not None and self.corporate.rm_team is not None:
            return self.corporate.rm_team.lead_rm_id
        return self.rm_id

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
