"""A customer's hot state: what the rules need to know about their recent past.

The state lives in a Faust table keyed by ``customer_id`` and is rebuilt from its
changelog after a restart. Applying an event twice changes nothing, whatever came in
between, which is what makes at-least-once delivery and replays safe: the history is
keyed by event id, complaints are open or resolved by event time, and fired rules keep
their latest time.
"""

from datetime import datetime, timedelta
from typing import Self

from pydantic import BaseModel, ConfigDict, Field

from schemas.interaction import Interaction, PhoneComplaintEvent, PhoneComplaintResolvedEvent

RECENT_LIMIT = 50
COMPLAINT_MEMORY = timedelta(days=365)


class HistoryEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str
    channel: str
    type: str
    occurred_at: datetime


class ComplaintTimes(BaseModel):
    opened: datetime | None = None
    resolved: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.opened is not None and (self.resolved is None or self.resolved < self.opened)


class CustomerState(BaseModel):
    """Recent contact history across channels, complaints and what already fired."""

    recent: list[HistoryEntry] = Field(default_factory=list)
    """Newest last, in event-time order, at most ``RECENT_LIMIT`` entries."""
    complaints: dict[str, ComplaintTimes] = Field(default_factory=dict)
    last_fired: dict[str, datetime] = Field(default_factory=dict)
    """Rule id -> event time of the last trigger it published for this customer."""

    @classmethod
    def from_bytes(cls, raw: bytes | None) -> Self:
        return cls() if raw is None else cls.model_validate_json(raw)

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_defaults=True).encode()

    @property
    def open_complaints(self) -> list[str]:
        return [complaint_id for complaint_id, times in self.complaints.items() if times.is_open]

    def has_seen(self, event_id: str) -> bool:
        """True when the event is in the recent history (older replays are not tracked)."""
        return any(entry.event_id == event_id for entry in self.recent)

    def apply(self, event: Interaction) -> bool:
        """Fold ``event`` into the state; False (and no change) if it was applied before."""
        if self.has_seen(event.event_id):
            return False
        self._remember(event)
        if isinstance(event, PhoneComplaintEvent):
            times = self.complaints.setdefault(event.payload.complaint_id, ComplaintTimes())
            times.opened = _latest(times.opened, event.occurred_at)
        elif isinstance(event, PhoneComplaintResolvedEvent):
            times = self.complaints.setdefault(event.payload.complaint_id, ComplaintTimes())
            times.resolved = _latest(times.resolved, event.occurred_at)
        self._forget_old_complaints(event.occurred_at)
        return True

    def record_fired(self, rule_id: str, at: datetime) -> None:
        self.last_fired[rule_id] = _latest(self.last_fired.get(rule_id), at)

    def _remember(self, event: Interaction) -> None:
        entry = HistoryEntry(
            event_id=event.event_id,
            channel=event.channel,
            type=event.type,
            occurred_at=event.occurred_at,
        )
        # Late events are inserted at their event-time position, not appended; one older
        # than the whole window falls off again at once.
        index = len(self.recent)
        while index > 0 and self.recent[index - 1].occurred_at > entry.occurred_at:
            index -= 1
        self.recent.insert(index, entry)
        del self.recent[:-RECENT_LIMIT]

    def _forget_old_complaints(self, now: datetime) -> None:
        horizon = now - COMPLAINT_MEMORY
        for complaint_id, times in list(self.complaints.items()):
            if not times.is_open and times.resolved is not None and times.resolved < horizon:
                del self.complaints[complaint_id]


def _latest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate > current else current
