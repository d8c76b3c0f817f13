"""The customer API's request and response bodies; the OpenAPI document is built from them."""

from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.common import Money
from schemas.interaction import Channel
from schemas.profile import Consents, CustomerType, Identifiers, RmTeam, Segment
from schemas.trigger import Tier

IdentifierKind = Literal["account_no", "card_no", "phone", "web_user"]
ReadView = Literal["profile", "history", "decisions", "search", "group", "group_history"]
"""What a customer read read: the routes that the audit records."""
CustomerId = Annotated[str, Field(min_length=1, max_length=256)]


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ErrorDetail(_Body):
    status: int
    code: str = Field(description="Stable and machine-readable: unauthorized, forbidden, not_found, …")
    message: str = Field(description="For people; never repeats the values sent.")


class ErrorBody(_Body):
    error: ErrorDetail


class Health(_Body):
    status: Literal["ok"] = "ok"


class Readiness(_Body):
    ready: bool


class OpenComplaint(_Body):
    complaint_id: str
    category: str | None
    severity: str | None
    opened_at: datetime
    event_id: str
    customer_id: str | None = Field(None, description="Who complained.")
    on_behalf_of: str | None = Field(None, description="The company they complained for, if any.")


class CustomerView(_Body):
    """A customer 360: the profile as CRM last sent it, what the hub derived, open complaints.

    The profile fields are null when the hub has interactions but no profile yet."""

    customer_id: str = Field(description="The survivor: the requested customer, or who it was merged into.")
    requested_id: str
    merged_ids: list[str] = Field(description="Customers merged into this one; their history is included.")
    segment: Segment | None
    tier: Tier
    assets_under_management: Money | None
    products: list[str] | None
    rm_id: str | None
    consents: Consents | None
    identifiers: Identifiers | None = Field(description="Display forms only: numbers masked.")
    birth_date: date | None
    time_zone: str | None
    updated_at: datetime | None
    customer_type: CustomerType = Field("individual", description="Profile v3: a person or a company.")
    group_id: str | None = Field(None, description="The group a company is a member of (profile v3).")
    rm_team: RmTeam | None = Field(None, description="A company's relationship-manager team (profile v3).")
    open_complaints: list[OpenComplaint]
    interaction_counts: dict[Channel, int] = Field(description="Interactions recorded, per channel.")


class TimelineItem(_Body):
    event_id: str
    customer_id: str
    channel: Channel
    type: str
    occurred_at: datetime
    received_at: datetime
    source: dict[str, Any]
    payload: dict[str, Any]
    identifiers: dict[str, str] = Field(description="Display forms only: numbers masked.")
    on_behalf_of: str | None = Field(None, description="The company the customer acted for (interaction v2).")


class HistoryPage(_Body):
    items: list[TimelineItem]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class DecisionItem(_Body):
    decision_id: str
    customer_id: str
    rule_id: str
    rule_version: int
    kind: str
    product: str | None
    tier: str
    outcome: Literal["published", "suppressed", "held_out"]
    policy: str | None = Field(description="The contact-policy step that decided, when not published.")
    detail: str
    reason: str
    evidence: list[str]
    channel: str | None
    not_before: datetime | None
    decided_at: datetime
    trigger_id: str | None = Field(description="The trigger sent to marketing, when one was.")
    published_at: datetime | None
    outcomes: list[str] = Field(description="What marketing reported back, in order.")


class DecisionPage(_Body):
    items: list[DecisionItem]
    next_cursor: str | None


class GroupMemberView(_Body):
    customer_id: str
    parent_id: str = Field(description="The group it is a direct member of (groups nest).")
    depth: int = Field(description="1: a direct member of this group; 2: of a member group; …")
    industry: str | None
    tier: Tier
    rm_team: RmTeam | None


class RepresentativeView(_Body):
    customer_id: str = Field(description="The person who acted.")
    on_behalf_of: str = Field(description="The member company they acted for.")
    interactions: int
    last_at: datetime


class GroupView(_Body):
    """A corporate group at once: its companies, who acts for them, and what is open."""

    group_id: str
    customer_type: CustomerType
    industry: str | None
    tier: Tier
    rm_team: RmTeam | None = Field(description="The group's relationship-manager team.")
    members: list[GroupMemberView]
    representatives: list[RepresentativeView]
    open_complaints: list[OpenComplaint] = Field(description="Across the group and its members.")
    recent_triggers: list[DecisionItem] | None = Field(
        description="Published, across the group, newest first; null unless the token holds decisions:read."
    )


class SearchRequest(_Body):
    """Either `{"customer_id": …}` or `{"kind": …, "value": …}`, nothing else."""

    # One model rather than a union of two: a wrong body gets one clear message, not one
    # per alternative. Its JSON Schema says what the validator below admits, so that a
    # client (or a fuzzer) built from the OpenAPI document sends only what is answered.
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["customer_id"],
                    "properties": {
                        "customer_id": {"type": "string"},
                        "kind": {"type": "null"},
                        "value": {"type": "null"},
                    },
                },
                {
                    "required": ["kind", "value"],
                    "properties": {
                        "customer_id": {"type": "null"},
                        "kind": {"type": "string"},
                        "value": {"type": "string"},
                    },
                },
            ]
        }
    )

    customer_id: CustomerId | None = Field(default=None, description="Resolve a customer id to its survivor.")
    kind: IdentifierKind | None = Field(default=None, description="With `value`: the kind of identifier.")
    value: Annotated[str, Field(min_length=1, max_length=256)] | None = Field(
        default=None, description="With `kind`: the identifier as the customer gives it."
    )

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        by_id = self.customer_id is not None
        by_identifier = self.kind is not None or self.value is not None
        if by_id == by_identifier or (by_identifier and (self.kind is None or self.value is None)):
            raise ValueError("give either customer_id, or kind and value")
        return self


class SearchResult(_Body):
    customer_id: str = Field(description="The survivor, when the match was merged into another customer.")


class AuditSearch(_Body):
    kind: IdentifierKind
    shown: str = Field(description="The identifier searched for, in display form: numbers masked.")


class AuditItem(_Body):
    """One read of a customer through the API, refused ones included."""

    id: int
    read_at: datetime = Field(description="The database server's clock.")
    who: str | None = Field(description="The token's name; null when no accepted token was presented.")
    view: ReadView
    customer_id: str | None = Field(description="The customer id the request named.")
    served_id: str | None = Field(description="The customer whose data the answer carried, if any.")
    search: AuditSearch | None = Field(description="A search by identifier: what was searched for.")
    status: int = Field(description="The HTTP status of the answer.")
    client: str | None = Field(description="The client's address.")


class AuditPage(_Body):
    items: list[AuditItem]
    next_cursor: str | None
