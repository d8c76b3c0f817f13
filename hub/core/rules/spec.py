"""The rule file's format, validated by pydantic so that errors name the rule and field.

A rule says *when* (conditions on the event, counts in an event-time window, the
profile, or a time derived from the event), and *what* trigger it proposes. Example::

    - id: fx_active_up_sell
      version: 1
      when:
        event: {channel: teller, types: [fx_exchange]}
        count: {at_least: 3, within: 30d}
      trigger: {kind: up_sell, action: offer, product: structured_fx_deposit, priority: 65,
                reason: "{count} foreign-exchange visits in 30 days",
                channels: {default: [phone, sms, email]}}
"""

import re
from datetime import time, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from hub.core.records import Side
from schemas.profile import CustomerType
from schemas.trigger import AddresseeRole, ContactChannel, Tier, TriggerKind

_DURATION = re.compile(r"^\s*(\d+)\s*(d|h|m|s)\s*$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def _parse_duration(value: Any) -> Any:
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"{value!r} is not a duration such as 30d, 24h, 15m or 90s")
        return timedelta(**{_UNITS[match[2]]: int(match[1])})
    return value


Duration = Annotated[timedelta, BeforeValidator(_parse_duration)]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Scalar = str | int | float | bool | None


class Predicate(_Spec):
    """One test of a payload field; every given operator must hold."""

    eq: Scalar = None
    ne: Scalar = None
    in_: list[Scalar] | None = Field(None, alias="in")
    gte: float | None = None
    lte: float | None = None
    is_null: bool | None = None


class MoneyAtLeast(_Spec):
    amount: Decimal = Field(gt=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class EventMatch(_Spec):
    """Which events a condition is about. Omitted parts match anything."""

    channel: Literal["teller", "phone", "web", "branch"] | None = None
    types: list[str] | None = None
    payload: dict[str, Predicate] = Field(default_factory=dict)
    money_at_least: MoneyAtLeast | None = None
    foreign_currency: bool | None = None
    any_of: list["EventMatch"] | None = None


class CountCondition(_Spec):
    """At least ``at_least`` events matching ``match`` (default: the rule's event) within ``within``."""

    match: EventMatch | None = None
    at_least: int = Field(ge=1)
    within: Duration


class ProfileCondition(_Spec):
    known: bool | None = None
    tier_in: list[Tier] | None = None
    rm_assigned: bool | None = None
    holds_any_of: list[str] | None = None
    holds_none_of: list[str] | None = None
    segment_in: list[str] | None = None
    customer_type: CustomerType | None = None
    """A person or a company (profile v3; every earlier profile is a person)."""
    in_group: bool | None = None
    """Whether the company is a member of a group (profile v3 ``corporate.group_id``)."""


class OutflowCondition(_Spec):
    """Money out that is large for the company: at least ``share_of_deposits`` of its
    deposits (profile v3 ``corporate.deposits``), or at least ``or_money_at_least``."""

    share_of_deposits: Decimal = Field(gt=0, le=1)
    or_money_at_least: MoneyAtLeast | None = None


class AbsentCondition(_Spec):
    """Fire only if no event matching ``match`` follows within ``within`` (event time).

    ``correlate`` names a payload field that the follow-up must share (e.g. an
    application id); without it any matching follow-up of the customer counts.
    """

    match: EventMatch
    within: Duration
    correlate: str | None = None


class AtCondition(_Spec):
    """Fire at a time derived from the event: a date field plus an offset, at a local time."""

    date_field: str
    offset: Duration = timedelta(0)
    before: bool = True
    local_time: time = time(9, 0)


class AnnualCondition(_Spec):
    """Fire once a year on a profile date (the birthday), at a local time."""

    profile_field: Literal["birth_date"] = "birth_date"
    local_time: time = time(9, 0)


PERSONAL_SIDES: tuple[Side, ...] = ("own", "acting")


class When(_Spec):
    sides: list[Side] = Field(default_factory=lambda: list(PERSONAL_SIDES), min_length=1)
    """Which copies of an event the rule looks at: the customer's ``own`` events, those
    they did ``acting`` for a company, and a company's copy of an event someone did for
    it (``represented``). By default a customer's events, as before there were companies."""
    event: EventMatch | None = None
    count: CountCondition | None = None
    profile: ProfileCondition | None = None
    absent: AbsentCondition | None = None
    at: AtCondition | None = None
    annual: AnnualCondition | None = None
    outflow: OutflowCondition | None = None

    @model_validator(mode="after")
    def _one_timing(self) -> "When":
        timed = [name for name in ("absent", "at", "annual") if getattr(self, name) is not None]
        if len(timed) > 1:
            raise ValueError(f"at most one of absent, at, annual; got {', '.join(timed)}")
        if self.annual is None and self.event is None:
            raise ValueError("a rule needs an event condition (only annual rules may go without)")
        return self


class Override(_Spec):
    """Different priority or validity when the event also matches ``when``."""

    when: EventMatch
    priority: int | None = Field(None, ge=0, le=100)
    valid_for: Duration | None = None


class TriggerSpec(_Spec):
    kind: TriggerKind
    action: str = Field(min_length=1)
    product: str | None = None
    product_from: str | None = None
    """A payload field whose value is the product (e.g. ``product`` of an application)."""
    priority: int = Field(ge=0, le=100)
    reason: str = Field(min_length=1)
    channels: dict[Literal["default"] | Tier, list[ContactChannel]]
    valid_for: Duration = timedelta(days=7)
    once_per: Duration | None = None
    cap_by: str | None = None
    """A payload field that tells reasons apart for the caps, e.g. each complaint is its own."""
    overrides: list[Override] = Field(default_factory=list)
    address_to: AddresseeRole | None = None
    """The RM the trigger is for: the company's ``lead_rm``, or the ``group_lead_rm`` of
    the group it belongs to (the top group's team)."""

    @model_validator(mode="after")
    def _has_default_channels(self) -> "TriggerSpec":
        if "default" not in self.channels:
            raise ValueError("channels needs a 'default' list (tiers may override it)")
        if self.kind != "care" and self.product is None and self.product_from is None:
            raise ValueError(f"a {self.kind} trigger needs a product or product_from")
        return self

    def channels_for(self, tier: Tier) -> list[ContactChannel]:
        return self.channels.get(tier) or self.channels["default"]


class RuleSpec(_Spec):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: int = Field(ge=1)
    description: str = ""
    enabled: bool = True
    when: When
    trigger: TriggerSpec


class RuleFile(_Spec):
    rules: list[RuleSpec]

    @model_validator(mode="after")
    def _unique_ids(self) -> "RuleFile":
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} appears twice")
            seen.add(rule.id)
        return self
