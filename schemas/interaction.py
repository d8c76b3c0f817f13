"""The interaction envelope (contract versions 1 and 2) and every channel's payload.

Version 2 adds ``on_behalf_of``: the corporate customer the event's (individual)
customer acted for, such as a treasurer at the counter or a finance officer in online
banking. Everything else is as in version 1, which stays accepted unchanged.

``Interaction`` is a discriminated union on ``channel`` and then ``type``, so that a
validated event has exactly the payload model of its channel and type::

    event = INTERACTION_ADAPTER.validate_json(raw)
    if isinstance(event, TellerCashEvent): ...
"""

from collections.abc import Callable
from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, TypeAdapter, ValidationInfo, field_validator, model_validator

from schemas.common import ContractModel, CurrencyCode, NonEmptyStr, PositiveAmount

Channel = Literal["teller", "phone", "web", "branch"]
CHANNELS: tuple[Channel, ...] = ("teller", "phone", "web", "branch")


class CustomerRef(ContractModel):
    """Who the event is about: a ``customer_id`` or at least one channel identifier."""

    customer_id: NonEmptyStr | None = None
    account_no: NonEmptyStr | None = None
    card_no: NonEmptyStr | None = None
    phone: NonEmptyStr | None = None
    web_user: NonEmptyStr | None = None

    @model_validator(mode="after")
    def _has_some_identity(self) -> "CustomerRef":
        if not any((self.customer_id, self.account_no, self.card_no, self.phone, self.web_user)):
            raise ValueError("needs customer_id or at least one channel identifier")
        return self


class Source(ContractModel):
    system: NonEmptyStr
    branch_id: NonEmptyStr | None = None
    staff_id: NonEmptyStr | None = None


class _Envelope(ContractModel):
    event_id: Annotated[str, Field(min_length=1, max_length=128)]
    schema_version: Literal[1, 2]
    occurred_at: AwareDatetime
    customer: CustomerRef
    source: Source
    on_behalf_of: Annotated[
        NonEmptyStr | None,
        Field(description="Version 2 only: the customer id of the company the customer acted for."),
    ] = None
    """(version 2) The customer id of the company the customer acted for. The event goes
    into the customer's history and the company's, once each."""

    @field_validator("on_behalf_of")
    @classmethod
    def _acting_needs_version_2(cls, value: str | None, info: ValidationInfo) -> str | None:
        # A field's validator runs only when the field is given: a version 1 event, which
        # has none, pays nothing for it. Naming oneself is not refused (a JSON Schema
        # cannot say so): the hub then keeps one history and makes no second copy.
        if value is not None and info.data.get("schema_version", 2) < 2:
            raise ValueError("on_behalf_of needs schema_version 2")
        return value


# --- teller -------------------------------------------------------------------------

AccountType = Literal["current", "savings", "time_deposit", "fx"]
FxPurpose = Literal["travel", "study_abroad", "trade", "investment", "other"]


class CashPayload(ContractModel):
    amount: PositiveAmount
    currency: CurrencyCode
    account_type: AccountType


class FxExchangePayload(ContractModel):
    sell_amount: PositiveAmount
    sell_currency: CurrencyCode
    buy_currency: CurrencyCode
    purpose: FxPurpose


class TimeDepositOpenedPayload(ContractModel):
    amount: PositiveAmount
    currency: CurrencyCode
    term_months: Annotated[int, Field(gt=0, le=600)]
    maturity_date: date


class InquiryPayload(ContractModel):
    topic: NonEmptyStr


class TellerCashEvent(_Envelope):
    channel: Literal["teller"]
    type: Literal["deposit", "withdrawal"]
    payload: CashPayload


class TellerFxExchangeEvent(_Envelope):
    channel: Literal["teller"]
    type: Literal["fx_exchange"]
    payload: FxExchangePayload


class TellerTimeDepositEvent(_Envelope):
    channel: Literal["teller"]
    type: Literal["time_deposit_opened"]
    payload: TimeDepositOpenedPayload


class TellerInquiryEvent(_Envelope):
    channel: Literal["teller"]
    type: Literal["inquiry"]
    payload: InquiryPayload


# --- phone --------------------------------------------------------------------------


class CallPayload(ContractModel):
    direction: Literal["inbound", "outbound"]
    reason: NonEmptyStr
    duration_s: Annotated[int, Field(ge=0)]
    resolved: bool


Severity = Literal["low", "medium", "high"]


class ComplaintPayload(ContractModel):
    complaint_id: NonEmptyStr
    category: NonEmptyStr
    severity: Severity


class ComplaintResolvedPayload(ContractModel):
    complaint_id: NonEmptyStr


class PhoneCallEvent(_Envelope):
    channel: Literal["phone"]
    type: Literal["call"]
    payload: CallPayload


class PhoneComplaintEvent(_Envelope):
    channel: Literal["phone"]
    type: Literal["complaint"]
    payload: ComplaintPayload


class PhoneComplaintResolvedEvent(_Envelope):
    channel: Literal["phone"]
    type: Literal["complaint_resolved"]
    payload: ComplaintResolvedPayload


# --- web ----------------------------------------------------------------------------


class LoginPayload(ContractModel):
    success: bool


class PageViewPayload(ContractModel):
    page: NonEmptyStr
    product: NonEmptyStr | None = None


class ApplicationPayload(ContractModel):
    application_id: NonEmptyStr
    product: NonEmptyStr


class WebLoginEvent(_Envelope):
    channel: Literal["web"]
    type: Literal["login"]
    payload: LoginPayload


class WebPageViewEvent(_Envelope):
    channel: Literal["web"]
    type: Literal["page_view"]
    payload: PageViewPayload


class WebApplicationEvent(_Envelope):
    channel: Literal["web"]
    type: Literal["application_started", "application_submitted"]
    payload: ApplicationPayload


# --- branch -------------------------------------------------------------------------


class VisitPayload(ContractModel):
    purpose: NonEmptyStr
    wait_minutes: Annotated[int, Field(ge=0)]


class RmMeetingPayload(ContractModel):
    rm_id: NonEmptyStr
    topic: NonEmptyStr


class BranchVisitEvent(_Envelope):
    channel: Literal["branch"]
    type: Literal["visit"]
    payload: VisitPayload


class BranchRmMeetingEvent(_Envelope):
    channel: Literal["branch"]
    type: Literal["rm_meeting"]
    payload: RmMeetingPayload


class BranchInquiryEvent(_Envelope):
    channel: Literal["branch"]
    type: Literal["inquiry"]
    payload: InquiryPayload


# --- the union ----------------------------------------------------------------------

TellerEvent = Annotated[
    TellerCashEvent | TellerFxExchangeEvent | TellerTimeDepositEvent | TellerInquiryEvent,
    Field(discriminator="type"),
]
PhoneEvent = Annotated[
    PhoneCallEvent | PhoneComplaintEvent | PhoneComplaintResolvedEvent,
    Field(discriminator="type"),
]
WebEvent = Annotated[
    WebLoginEvent | WebPageViewEvent | WebApplicationEvent,
    Field(discriminator="type"),
]
BranchEvent = Annotated[
    BranchVisitEvent | BranchRmMeetingEvent | BranchInquiryEvent,
    Field(discriminator="type"),
]

Interaction = Annotated[
    TellerEvent | PhoneEvent | WebEvent | BranchEvent,
    Field(discriminator="channel"),
]
"""Any valid interaction envelope of schema version 1 or 2."""

INTERACTION_ADAPTER: TypeAdapter[Interaction] = TypeAdapter(Interaction)

parse_interaction: Callable[[str | bytes], Interaction] = INTERACTION_ADAPTER.validator.validate_json
"""``INTERACTION_ADAPTER.validate_json`` without the adapter's Python wrapper around its
validator, a tenth of the call's cost: every event read goes through it (the same
result, the same ValidationError)."""

TYPES_BY_CHANNEL: dict[Channel, tuple[str, ...]] = {
    "teller": ("deposit", "withdrawal", "fx_exchange", "time_deposit_opened", "inquiry"),
    "phone": ("call", "complaint", "complaint_resolved"),
    "web": ("login", "page_view", "application_started", "application_submitted"),
    "branch": ("visit", "rm_meeting", "inquiry"),
}
