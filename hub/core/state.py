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
SENT_MEMORY = timedelta(days=400)  # long enough for once-a-year rules


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


class Mark(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    event_id: str


class Sent(BaseModel):
    """A decision that counted against the contact policy: published, or held out."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    rule_id: str
    kind: str
    product: str | None = None
    cap_key: str | None = None


class CustomerState(BaseModel):
    """Recent contact history across channels, complaints and what already fired."""

    recent: list[HistoryEntry] = Field(default_factory=list)
    """Newest last, in event-time order, at most ``RECENT_LIMIT`` entries."""
    complaints: dict[str, ComplaintTimes] = Field(default_factory=dict)
    counters: dict[str, list[Mark]] = Field(default_factory=dict)
    """Rule id -> the events it counts, within its window."""
    sent: list[Sent] = Field(default_factory=list)
    """Triggers that counted against the policy, oldest first, for ``SENT_MEMORY``."""
    annual_scheduled: dict[str, int] = Field(default_factory=dict)
    """Rule id -> the year of the last annual check scheduled (the birthday)."""

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

    def mark(self, rule_id: str, event_id: str, at: datetime, within: timedelta) -> None:
        """Count the event for ``rule_id``, once, forgetting marks older than the window."""
        marks = self.counters.setdefault(rule_id, [])
        if all(mark.event_id != event_id for mark in marks):
            marks.append(Mark(at=at, event_id=event_id))
            marks.sort(key=lambda mark: mark.at)
        horizon = marks[-1].at - within
        marks[:] = [mark for mark in marks if mark.at > horizon]

    def window(self, rule_id: str, at: datetime, within: timedelta) -> list[str]:
        """The ids counted for ``rule_id`` in ``(at - within, at]``, oldest first."""
        return [mark.event_id for mark in self.counters.get(rule_id, []) if at - within < mark.at <= at]

    def record_sent(self, sent: Sent) -> None:
        if sent not in self.sent:
            self.sent.append(sent)
            self.sent.sort(key=lambda item: item.at)
        horizon = self.sent[-1].at - SENT_MEMORY
        self.sent[:] = [item for item in self.sent if item.at > horizon]

    def sent_since(
        self,
        since: datetime,
        *,
        rule_id: str | None = None,
        kinds: frozenset[str] | None = None,
        cap_key: str | None = None,
        until: datetime | None = None,
    ) -> int:
        """Sends in ``(since, until]``: later ones (a replay in other batches) do not count."""
        return sum(
            1
            for item in self.sent
            if item.at > since
            and (until is None or item.at <= until)
            and (rule_id is None or item.rule_id == rule_id)
            and (kinds is None or item.kind in kinds)
            and (cap_key is None or item.cap_key == cap_key)
        )

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
