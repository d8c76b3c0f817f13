"""A customer's hot state: what the rules need to know about their recent past.

The state lives in a Faust table keyed by ``customer_id`` and is rebuilt from its
changelog after a restart. Applying an event twice changes nothing, which is what makes
at-least-once delivery safe.
"""

from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field

from schemas.interaction import Interaction, PhoneComplaintEvent, PhoneComplaintResolvedEvent

RECENT_LIMIT = 50
SEEN_LIMIT = 512


class HistoryEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str
    channel: str
    type: str
    occurred_at: datetime


class CustomerState(BaseModel):
    """Recent contact history across channels, open complaints and what already fired."""

    recent: list[HistoryEntry] = Field(default_factory=list)
    """Newest last, in event-time order, at most ``RECENT_LIMIT`` entries."""
    seen_event_ids: list[str] = Field(default_factory=list)
    open_complaints: dict[str, datetime] = Field(default_factory=dict)
    last_fired: dict[str, datetime] = Field(default_factory=dict)
    """Rule id -> event time of the last trigger it published for this customer."""

    @classmethod
    def from_bytes(cls, raw: bytes | None) -> Self:
        return cls() if raw is None else cls.model_validate_json(raw)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    def has_seen(self, event_id: str) -> bool:
        return event_id in self.seen_event_ids

    def apply(self, event: Interaction) -> bool:
        """Fold ``event`` into the state; False (and no change) if it was seen before."""
        if self.has_seen(event.event_id):
            return False
        self.seen_event_ids.append(event.event_id)
        del self.seen_event_ids[:-SEEN_LIMIT]
        self._remember(event)
        if isinstance(event, PhoneComplaintEvent):
            self.open_complaints[event.payload.complaint_id] = event.occurred_at
        elif isinstance(event, PhoneComplaintResolvedEvent):
            self.open_complaints.pop(event.payload.complaint_id, None)
        return True

    def record_fired(self, rule_id: str, at: datetime) -> None:
        previous = self.last_fired.get(rule_id)
        if previous is None or at > previous:
            self.last_fired[rule_id] = at

    def _remember(self, event: Interaction) -> None:
        entry = HistoryEntry(
            event_id=event.event_id,
            channel=event.channel,
            type=event.type,
            occurred_at=event.occurred_at,
        )
        # Late events are inserted at their event-time position, not appended.
        index = len(self.recent)
        while index > 0 and self.recent[index - 1].occurred_at > entry.occurred_at:
            index -= 1
        self.recent.insert(index, entry)
        del self.recent[:-RECENT_LIMIT]
