"""What a rule proposes before the contact policy has its say."""

from dataclasses import dataclass
from datetime import timedelta

from schemas.trigger import ContactChannel, RuleRef, TriggerKind


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
    valid_for: timedelta
    cooldown: timedelta | None = None
    """No second trigger of this rule for the customer within this event time."""
