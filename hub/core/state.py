"""A customer's hot state: what the rules need to know about their recent past.

The state is kept in the worker's memory and stored in PostgreSQL (``customer_state``)
in the transaction of the batch that changed it. Applying an event twice changes
nothing, whatever came in between, which is what makes at-least-once delivery and
replays safe: the history is keyed by event id, complaints are open or resolved by event
time, and fired rules keep their latest time.

The state is read and written for every event, so its parts are msgspec structs
(:mod:`hub.core.state_parts`) and its stored form is a compact JSON array of their fields
(see :meth:`CustomerState.to_bytes`).
"""

from bisect import bisect_left, bisect_right, insort_right
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any, Self

from hub.core.state_parts import (
    ComplaintTimes,
    HistoryEntry,
    Mark,
    Sent,
    StoredState,
    decode_stored,
    encode_stored,
)
from schemas.interaction import Interaction, PhoneComplaintEvent, PhoneComplaintResolvedEvent

__all__ = [
    "COMPLAINT_MEMORY",
    "RECENT_LIMIT",
    "SENT_MEMORY",
    "ComplaintTimes",
    "CustomerState",
    "HistoryEntry",
    "Mark",
    "Sent",
]

RECENT_LIMIT = 50
COMPLAINT_MEMORY = timedelta(days=365)
SENT_MEMORY = timedelta(days=400)  # long enough for once-a-year rules


_AT = attrgetter("at")


class CustomerState:
    """Recent contact history across channels, complaints and what already fired."""

    __slots__ = ("_seen", "annual_scheduled", "complaints", "counters", "recent", "sent")
    __hash__ = None  # type: ignore[assignment]  # mutable

    recent: list[HistoryEntry]
    """Newest last, in event-time order, at most ``RECENT_LIMIT`` entries (change it through
    :meth:`apply` only: the ids in it are indexed for :meth:`has_seen`)."""
    complaints: dict[str, ComplaintTimes]
    counters: dict[str, list[Mark]]
    """Rule id -> the events it counts, within its window, oldest first."""
    sent: list[Sent]
    """Triggers that counted against the policy, oldest first, for ``SENT_MEMORY``."""
    annual_scheduled: dict[str, int]
    """Rule id -> the year of the last annual check scheduled (the birthday)."""

    def __init__(
        self,
        *,
        recent: list[HistoryEntry] | None = None,
        complaints: dict[str, ComplaintTimes] | None = None,
        counters: dict[str, list[Mark]] | None = None,
        sent: list[Sent] | None = None,
        annual_scheduled: dict[str, int] | None = None,
    ) -> None:
        self.recent = [] if recent is None else recent
        self.complaints = {} if complaints is None else complaints
        self.counters = {} if counters is None else counters
        self.sent = [] if sent is None else sent
        self.annual_scheduled = {} if annual_scheduled is None else annual_scheduled
        self._seen = {entry.event_id for entry in self.recent}

    # --- stored form ------------------------------------------------------------------

    @classmethod
    def from_bytes(cls, raw: bytes | None) -> Self:
        """The state :meth:`to_bytes` stored; also reads the JSON object that the
        pydantic model before it stored (``{"recent": [{"event_id": ...}], ...}``)."""
        if raw is None:
            return cls()
        stored = decode_stored(raw)
        return cls(
            recent=stored.recent,
            complaints=stored.complaints,
            counters=stored.counters,
            sent=stored.sent,
            annual_scheduled=stored.annual_scheduled,
        )

    def to_bytes(self) -> bytes:
        """A JSON array, its first item the format's version (2): ``[2, recent,
        complaints, counters, sent, annual_scheduled]``, each struct as the array of its
        fields, times as RFC 3339 text with their UTC offset."""
        return encode_stored(
            StoredState(self.recent, self.complaints, self.counters, self.sent, self.annual_scheduled)
        )

    def copy(self) -> Self:
        """A state that changes apart from this one (the frozen parts are shared)."""
        return type(self)(
            recent=list(self.recent),
            complaints={k: ComplaintTimes(t.opened, t.resolved) for k, t in self.complaints.items()},
            counters={k: list(marks) for k, marks in self.counters.items()},
            sent=list(self.sent),
            annual_scheduled=dict(self.annual_scheduled),
        )

    # --- reading ----------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CustomerState):
            return NotImplemented
        return (
            self.recent == other.recent
            and self.complaints == other.complaints
            and self.counters == other.counters
            and self.sent == other.sent
            and self.annual_scheduled == other.annual_scheduled
        )

    def __repr__(self) -> str:
        return (
            f"CustomerState(recent={self.recent!r}, complaints={self.complaints!r}, "
            f"counters={self.counters!r}, sent={self.sent!r}, annual_scheduled={self.annual_scheduled!r})"
        )

    @property
    def open_complaints(self) -> list[str]:
        return [complaint_id for complaint_id, times in self.complaints.items() if times.is_open]

    def has_seen(self, event_id: str) -> bool:
        """True when the event is in the recent history (older replays are not tracked)."""
        return event_id in self._seen

    def window(self, rule_id: str, at: datetime, within: timedelta) -> list[str]:
        """The ids counted for ``rule_id`` in ``(at - within, at]``, oldest first."""
        marks = self.counters.get(rule_id)
        if not marks:
            return []
        since = at - within
        return [mark.event_id for mark in marks if since < mark.at <= at]

    def busiest_window(
        self,
        at: datetime,
        within: timedelta,
        *,
        rule_id: str | None = None,
        kinds: frozenset[str] | None = None,
        cap_key: str | None = None,
    ) -> int:
        """The most sends in any window ``(end - within, end]`` that holds ``at``.

        A cap of N per ``within`` lets a send at ``at`` go out only if each window it
        would fall in holds fewer than N: the ones ending at ``at`` and the ones ending
        at a send after it. Sends later in event time are there when a check is decided
        after the events of its grace, or an event arrives late; counting them keeps a
        customer from getting two sales within seconds of each other."""
        sent = self.sent
        # ``sent`` is in time order: only the slice (at - within, at + within) is looked at.
        start = bisect_right(sent, at - within, key=_AT)
        middle = bisect_right(sent, at, lo=start, key=_AT)
        end = bisect_left(sent, at + within, lo=middle, key=_AT)
        times = [
            item.at
            for item in sent[start:end]
            if (rule_id is None or item.rule_id == rule_id)
            and (kinds is None or item.kind in kinds)
            and (cap_key is None or item.cap_key == cap_key)
        ]
        at_or_before = bisect_right(times, at)
        busiest = at_or_before
        first = 0
        # Windows ending at each later send: two pointers over the times in order.
        for last in range(at_or_before, len(times)):
            while times[first] <= times[last] - within:
                first += 1
            busiest = max(busiest, last - first + 1)
        return busiest

    # --- changing ---------------------------------------------------------------------

    def apply(self, event: Interaction) -> bool:
        """Fold ``event`` into the state; False (and no change) if it was applied before."""
        if event.event_id in self._seen:
            return False
        self._remember(event)
        if isinstance(event, PhoneComplaintEvent):
            times = self.complaints.setdefault(event.payload.complaint_id, ComplaintTimes())
            times.opened = _latest(times.opened, event.occurred_at)
        elif isinstance(event, PhoneComplaintResolvedEvent):
            times = self.complaints.setdefault(event.payload.complaint_id, ComplaintTimes())
            times.resolved = _latest(times.resolved, event.occurred_at)
        if self.complaints:
            self._forget_old_complaints(event.occurred_at)
        return True

    def mark(self, rule_id: str, event_id: str, at: datetime, within: timedelta) -> None:
        """Count the event for ``rule_id``, once, forgetting marks older than the window."""
        marks = self.counters.setdefault(rule_id, [])
        if all(mark.event_id != event_id for mark in marks):
            # After the marks of the same time, as a stable sort of the appended mark would.
            insort_right(marks, Mark(at, event_id), key=_AT)
        horizon = marks[-1].at - within
        _drop_until(marks, horizon)

    def record_sent(self, sent: Sent) -> None:
        if sent not in self.sent:
            insort_right(self.sent, sent, key=_AT)
        horizon = self.sent[-1].at - SENT_MEMORY
        _drop_until(self.sent, horizon)

    def _remember(self, event: Interaction) -> None:
        entry = HistoryEntry(event.event_id, event.channel, event.type, event.occurred_at)
        # Late events are inserted at their event-time position, not appended; one older
        # than the whole window falls off again at once.
        recent = self.recent
        index = len(recent)
        while index > 0 and recent[index - 1].occurred_at > entry.occurred_at:
            index -= 1
        recent.insert(index, entry)
        self._seen.add(entry.event_id)
        if len(recent) > RECENT_LIMIT:
            for gone in recent[:-RECENT_LIMIT]:
                self._seen.discard(gone.event_id)
            del recent[:-RECENT_LIMIT]

    def _forget_old_complaints(self, now: datetime) -> None:
        horizon = now - COMPLAINT_MEMORY
        old = [
            complaint_id
            for complaint_id, times in self.complaints.items()
            if times.resolved is not None and times.resolved < horizon and not times.is_open
        ]
        for complaint_id in old:
            del self.complaints[complaint_id]


def _latest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate > current else current


def _drop_until(items: list[Any], horizon: datetime) -> None:
    """Remove the items at or before ``horizon`` from a list in time order (``.at``)."""
    if items and items[0].at <= horizon:
        del items[: bisect_right(items, horizon, key=_AT)]
