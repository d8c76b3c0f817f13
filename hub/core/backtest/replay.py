"""One customer's stored history, replayed through the fold the worker runs.

The worker decides batches of many customers; a backtest reads the history one
customer at a time (ordered by customer, then event time), which keeps memory bounded
by the customers in flight. Each customer's events go through
:func:`hub.core.fold.decide_batch` exactly as the recorder calls it, with an in-memory
stand-in for the ``scheduled_checks`` table: checks scheduled by earlier events are
handed in as due once the customer's event time passes them, as the recorder hands in
the stored ones, and the checks still pending after the customer's last event fire if
the history's event time (its shard's, as the live worker saw it) passed them.

A declined offer counts from the time of its outcome: the events are decided in runs
between declines, each run knowing the declines before it. A company's history holds the
copies of events done for it as the worker decided them, and the group-level cap's
claims as stored (``pitches``), which need other members' decisions.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from hub.core.decide import Decided, DecisionConfig, decide_due
from hub.core.drafts import ScheduledCheck
from hub.core.fold import Subjects, answers, decide_batch, event_clock, watermarks
from hub.core.groups import GroupPitches, PitchKey
from hub.core.records import ReceivedEvent
from hub.core.state import CustomerState
from schemas.profile import CustomerProfile
from schemas.trigger import Trigger


@dataclass(frozen=True, slots=True)
class Decline:
    """A declined offer of ``product``: not offered again from ``at`` until ``until``."""

    product: str
    at: datetime
    until: datetime


@dataclass(frozen=True, slots=True)
class CustomerHistory:
    """What the store holds of one customer, for a replay."""

    customer_id: str
    shard: int
    """The partition of the internal topic that owns the customer (its checks' clock)."""
    profile: CustomerProfile | None
    events: Sequence[ReceivedEvent]
    """In event-time order (or as the worker recorded them), each event id once (the
    stored history's key)."""
    declines: Sequence[Decline] = ()
    groups: Mapping[str, CustomerProfile] = field(default_factory=dict)
    """Profiles of the groups (profile v3), by id: where a company's top group is found."""
    pitches: Mapping[PitchKey, str] = field(default_factory=dict)
    """The group-level cap's claims as stored: a replay of the rules in force finds the
    worker's own claims and the other members' as the worker did. (A candidate rule's new
    pitches are capped only against those, not against other members' replayed ones.)"""


def replay_customer(
    history: CustomerHistory, config: DecisionConfig, horizon: datetime | None
) -> list[Decided]:
    """Every decision the worker would have logged for this customer, in order.

    ``horizon``: how far the event time of the customer's shard went over the whole
    history; the checks still pending after their last event fire if due by it."""
    return CustomerReplay(history, config).finish(horizon)


class CustomerReplay:
    """One customer's replay in steps: decided :meth:`through` an event, :meth:`forked`
    to go on from there under other rules, then :meth:`finish`-ed."""

    __slots__ = ("_config", "_decided", "_done", "_history", "_pending", "_pitches", "_runs", "_state")

    def __init__(self, history: CustomerHistory, config: DecisionConfig) -> None:
        self._history, self._config = history, config
        self._state = CustomerState()
        self._pending: dict[str, ScheduledCheck] = {}
        self._decided: list[Decided] = []
        # The group-level cap's claims, the stored ones and the replay's own since: like
        # the state, they go on from one run (and batch) to the next.
        self._pitches = GroupPitches(dict(history.pitches))
        self._runs = _runs_between_declines(history)
        self._done = 0
        """The events before this index are decided."""

    def through(self, end: int) -> None:
        """Decide the events before index ``end``. A run between declines that ``end`` cuts
        is decided in two batches, which decide as the whole run would where the first
        batch leaves the clock no further than the second starts it (:func:`clean_cut`)."""
        for start, stop, declined in self._runs:
            start, stop = max(start, self._done), min(stop, end)
            if start < stop:
                self._decide(self._history.events[start:stop], declined)
        self._done = max(self._done, end)

    def forked(self, config: DecisionConfig) -> "CustomerReplay":
        """The replay so far, going on apart from this one under ``config``: right when the
        events so far are decided the same under both (none acted on by rules that differ)."""
        other = CustomerReplay(self._history, config)
        other._runs, other._done = self._runs, self._done
        other._state = self._state.copy()
        other._pending = dict(self._pending)
        other._decided = list(self._decided)
        other._pitches = GroupPitches(dict(self._pitches.stored))
        return other

    def finish(self, horizon: datetime | None) -> list[Decided]:
        """Decide the rest, then the checks still pending that ``horizon`` passed (once)."""
        history = self._history
        self.through(len(history.events))
        if horizon is not None:
            subjects = _subjects(history, self._state, _declined_by(history.declines, horizon), self._pitches)
            for check, _ in _due(self._pending, horizon, history.shard):
                self._decided += decide_due(check, subjects.of(history.customer_id), self._config).decided
        return self._decided

    def _decide(self, run: Sequence[ReceivedEvent], declined: dict[str, datetime]) -> None:
        history, pending = self._history, self._pending
        subjects = _subjects(history, self._state, declined, self._pitches)
        # Only checks stored before the run can be due before it (none in a first run).
        due = _due(pending, watermarks(run).get(history.shard), history.shard) if pending else []
        out = decide_batch(run, {item.record_key for item in run}, due, subjects, self._config)
        # In the recorder's order: the run's follow-ups cancel checks stored before it,
        # then its own schedules are stored, then what it fired or answered is settled.
        for cancellation in out.cancellations:
            for check_id in [c.check_id for c in pending.values() if answers(cancellation, c)]:
                del pending[check_id]
        for check, _ in out.schedules:
            pending.setdefault(check.check_id, check)
        for check_id in (*out.fired, *out.answered):
            pending.pop(check_id, None)
        self._decided += out.decided


def clean_cut(events: Sequence[ReceivedEvent], index: int) -> int:
    """The last cut at or before ``index`` (< the number of events) where the events
    before the cut move their clock no further than the event after it: cut there, the
    two batches decide as one would, each check firing before the same event. A history
    in event-time order can be cut anywhere; 0 is always a cut."""
    cut, furthest = 0, None
    for position in range(index + 1):
        clock = event_clock(events[position])
        if furthest is None or furthest <= clock:
            cut = position
        if furthest is None or clock > furthest:
            furthest = clock
    return cut


def _due(
    pending: dict[str, ScheduledCheck], mark: datetime | None, shard: int
) -> list[tuple[ScheduledCheck, int]]:
    """The pending checks due by ``mark``, in the order the store hands them in."""
    if mark is None:
        return []
    due = sorted((c for c in pending.values() if c.due_at <= mark), key=lambda c: (c.due_at, c.check_id))
    return [(check, shard) for check in due]


def _runs_between_declines(history: CustomerHistory) -> list[tuple[int, int, dict[str, datetime]]]:
    """(start, stop) of the events between the points where a decline comes to be known,
    each run with the declines known at its first event."""
    events = history.events
    if not history.declines:
        return [(0, len(events), {})] if events else []
    runs: list[tuple[int, int, dict[str, datetime]]] = []
    start = 0
    for index in range(1, len(events) + 1):
        ends = index == len(events) or _declined_between(
            history.declines, events[index - 1].event.occurred_at, events[index].event.occurred_at
        )
        if ends:
            runs.append((start, index, _declined_by(history.declines, events[start].event.occurred_at)))
            start = index
    return runs


def _declined_between(declines: Sequence[Decline], after: datetime, until: datetime) -> bool:
    return any(after < d.at <= until for d in declines)


def _declined_by(declines: Sequence[Decline], at: datetime) -> dict[str, datetime]:
    """Product -> until when it is not offered again, as known at ``at``."""
    known: dict[str, datetime] = {}
    for decline in declines:
        latest = known.get(decline.product)
        if decline.at <= at and (latest is None or decline.until > latest):
            known[decline.product] = decline.until
    return known


def _subjects(
    history: CustomerHistory, state: CustomerState, declined: dict[str, datetime], pitches: GroupPitches
) -> Subjects:
    profile, me, groups = history.profile, history.customer_id, history.groups

    def state_of(_: str) -> CustomerState:
        return state

    def profile_of(customer_id: str) -> CustomerProfile | None:
        return profile if customer_id == me else groups.get(customer_id)

    return Subjects(state_of, profile_of, {me: declined}, _no_topic, pitches)


def _no_topic(_: Trigger) -> str:
    # A backtest publishes nothing: the outbox it builds is thrown away.
    return ""
