"""Triggers the hub sends to marketing services, and the outcomes they report back."""

from typing import Literal

from pydantic import AwareDatetime, Field

from schemas.common import ContractModel, NonEmptyStr

TriggerKind = Literal["cross_sell", "up_sell", "repeat_sell", "rm_referral", "care"]
SALES_KINDS: frozenset[str] = frozenset({"cross_sell", "up_sell", "repeat_sell", "rm_referral"})
PersonalTier = Literal["private", "wealth", "affluent", "mass"]
CorporateTier = Literal["key_account", "large", "sme"]
Tier = Literal["private", "wealth", "affluent", "mass", "key_account", "large", "sme"]
CORPORATE_TIERS: frozenset[str] = frozenset({"key_account", "large", "sme"})
AddresseeRole = Literal["lead_rm", "group_lead_rm"]
ContactChannel = Literal["phone", "sms", "email", "web", "branch"]
OutcomeKind = Literal["delivered", "accepted", "declined", "expired"]


class RuleRef(ContractModel):
    id: NonEmptyStr
    version: int = Field(ge=1)


class Addressee(ContractModel):
    """(version 2) Whom a trigger is for within the bank: a company's lead RM, or the lead
    RM of the group the company belongs to."""

    role: AddresseeRole
    rm_id: NonEmptyStr | None
    """None when the profile names no RM team (the trigger still goes out)."""


class Trigger(ContractModel):
    trigger_id: NonEmptyStr
    schema_version: Literal[1, 2] = 1
    """The contract version. Triggers published before the field was added lack it and are
    version 1; version 2 triggers are for companies: a corporate tier, or ``addressed_to``."""
    kind: TriggerKind
    customer_id: NonEmptyStr
    rule: RuleRef
    action: NonEmptyStr
    product: NonEmptyStr | None
    reason: NonEmptyStr
    evidence: list[NonEmptyStr] = Field(min_length=1)
    tier: Tier
    priority: int = Field(ge=0, le=100)
    recommended_channel: ContactChannel
    created_at: AwareDatetime
    not_before: AwareDatetime
    expires_at: AwareDatetime
    addressed_to: Addressee | None = None
    """(version 2) The RM the trigger is for, when the rule says."""


class TriggerOutcome(ContractModel):
    trigger_id: NonEmptyStr
    customer_id: NonEmptyStr
    outcome: OutcomeKind
    at: AwareDatetime
