"""What a rule proposes, and what it asks to check later, before the policy has its say."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from schemas.trigger import Addressee, ContactChannel, RuleRef, TriggerKind


@dataclass(frozen=True, slots=True)
class TriggerDraft:
    rule: RuleRef
    kind: TriggerKind
    action: str
    product: str | None
    reason: str
    evidence: tuple[str, ...]
    priority: int
    channels: tuple[ContactChannel, ...]
    """Recommended channels in order of preference; the first consented one is used."""
    at: datetime
    """Event time of the decision: the event's ``occurred_at`` or a scheduled check's due time."""
    valid_for: timedelta
    once_per: timedelta | None = None
    cap_key: str | None = None
    """What makes this reason distinct for the caps (a complaint id), if the rule says."""
    reached_by: str | None = None
    """The channel of the event behind the draft, if an event."""
    addressed_to: Addressee | None = None
    """The RM the trigger is for, when the rule says (``address_to``)."""


@dataclass(frozen=True, slots=True)
class ScheduledCheck:
    """A rule's question for later, e.g. "was the application submitted within 24 hours?"."""

    check_id: str
    customer_id: str
    rule: RuleRef
    due_at: datetime
    correlation: str | None
    evidence: tuple[str, ...]
    context: dict[str, Any] = field(default_factory=dict)
    """What the reason text and the product need when the check fires."""


@dataclass(frozen=True, slots=True)
class Cancellation:
    """A follow-up event that answers pending checks of ``rule_id`` before they are due."""

    customer_id: str
    rule_id: str
    correlation: str | None
    at: datetime
