"""What a rule proposes, and what it asks to check later, before the policy has its say."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from schemas.trigger import Addressee, ContactChannel, RuleRef, TriggerKind

_DRAFT_FIELDS = (  # the fields, in the order of the constructor and of repr()
    "rule",
    "kind",
    "action",
    "product",
    "reason",
    "evidence",
    "priority",
    "channels",
    "at",
    "valid_for",
    "once_per",
    "cap_key",
    "reached_by",
    "addressed_to",
)


class TriggerDraft:
    """What a rule proposes for one moment, before the policy's verdict.

    A plain class rather than a frozen dataclass, as :class:`hub.core.records.ReceivedEvent`
    is: in the compiled core a dataclass keeps the Python ``__init__`` that
    :mod:`dataclasses` writes, which for a frozen one of these fields cost more than the
    rest of the draft's making. Nothing changes one once made."""

    __slots__ = _DRAFT_FIELDS

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
    once_per: timedelta | None
    cap_key: str | None
    """What makes this reason distinct for the caps (a complaint id), if the rule says."""
    reached_by: str | None
    """The channel of the event behind the draft, if an event."""
    addressed_to: Addressee | None
    """The RM the trigger is for, when the rule says (``address_to``)."""

    def __init__(
        self,
        *,
        rule: RuleRef,
        kind: TriggerKind,
        action: str,
        product: str | None,
        reason: str,
        evidence: tuple[str, ...],
        priority: int,
        channels: tuple[ContactChannel, ...],
        at: datetime,
        valid_for: timedelta,
        once_per: timedelta | None = None,
        cap_key: str | None = None,
        reached_by: str | None = None,
        addressed_to: Addressee | None = None,
    ) -> None:
        self.rule, self.kind, self.action, self.product = rule, kind, action, product
        self.reason, self.evidence, self.priority, self.channels = reason, evidence, priority, channels
        self.at, self.valid_for, self.once_per, self.cap_key = at, valid_for, once_per, cap_key
        self.reached_by, self.addressed_to = reached_by, addressed_to

    def _fields(self) -> tuple[object, ...]:
        return (
            self.rule,
            self.kind,
            self.action,
            self.product,
            self.reason,
            self.evidence,
            self.priority,
            self.channels,
            self.at,
            self.valid_for,
            self.once_per,
            self.cap_key,
            self.reached_by,
            self.addressed_to,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TriggerDraft):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={value!r}" for name, value in zip(_DRAFT_FIELDS, self._fields(), strict=True)
        )
        return f"TriggerDraft({fields})"


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
