"""Triggers the hub sends to marketing services, and the outcomes they report back."""

from typing import Literal

from pydantic import AwareDatetime, Field

from schemas.common import ContractModel, NonEmptyStr

TriggerKind = Literal["cross_sell", "up_sell", "repeat_sell", "rm_referral", "care"]
SALES_KINDS: frozenset[str] = frozenset({"cross_sell", "up_sell", "repeat_sell", "rm_referral"})
Tier = Literal["private", "wealth", "affluent", "mass"]
ContactChannel = Literal["phone", "sms", "email", "web", "branch"]
OutcomeKind = Literal["delivered", "accepted", "declined", "expired"]


class RuleRef(ContractModel):
    id: NonEmptyStr
    version: int = Field(ge=1)


class Trigger(ContractModel):
    trigger_id: NonEmptyStr
    schema_version: Literal[1] = 1
    """The contract version. Triggers published before the field was added lack it and are version 1."""
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


class TriggerOutcome(ContractModel):
    trigger_id: NonEmptyStr
    customer_id: NonEmptyStr
    outcome: OutcomeKind
    at: AwareDatetime
