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
between declines, each run knowing the declines before it.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from hub.core.decide import Decided, DecisionConfig, decide_due
from hub.core.drafts import ScheduledCheck
from hub.core.fold import Subjects, answers, decide_batch, watermarks
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
    """In event-time order."""
    declines: Sequence[Decline] = ()


def replay_customer(
    history: CustomerHistory, config: DecisionConfig, horizon: datetime | None
) -> list[Decided]:
    """Every decision the worker would have logged for this customer, in order.

    ``horizon``: how far the event time of the customer's shard went over the whole
    history; the checks still pending after their last event fire if due by it."""
    state = CustomerState()
    pending: dict[str, ScheduledCheck] = {}
    decided: list[Decided] = []
    for run, declined in _runs_between_declines(history):
        subjects = _subjects(history, state, declined)
        mark = watermarks(run).get(history.shard)
        due = _due(pending, mark, history.shard)
        out = decide_batch(run, {item.event.event_id for item in run}, due, subjects, config)
        # In the recorder's order: the run's follow-ups cancel checks stored before it,
        # then its own schedules are stored, then what it fired or answered is settled.
        for cancellation in out.cancellations:
            for check_id in [c.check_id for c in pending.values() if answers(cancellation, c)]:
                del pending[check_id]
        for check, _ in out.schedules:
            pending.setdefault(check.check_id, check)
        for check_id in (*out.fired, *out.answered):
            pending.pop(check_id, None)
        decided += out.decided
    if horizon is not None:
        subjects = _subjects(history, state, _declined_by(history.declines, horizon))
        for check, _ in _due(pending, horizon, history.shard):
            decided += decide_due(check, subjects.of(history.customer_id), config).decided
    return decided


def _due(
    pending: dict[str, ScheduledCheck], mark: datetime | None, shard: int
) -> list[tuple[ScheduledCheck, int]]:
    """The pending checks due by ``mark``, in the order the store hands them in."""
    if mark is None:
        return []
    due = sorted((c for c in pending.values() if c.due_at <= mark), key=lambda c: (c.due_at, c.check_id))
    return [(check, shard) for check in due]


def _runs_between_declines(
    history: CustomerHistory,
) -> list[tuple[Sequence[ReceivedEvent], dict[str, datetime]]]:
    """The events split where a decline comes to be known, each run with the declines before it."""
    events = history.events
    if not history.declines:
        return [(events, {})] if events else []
    runs: list[tuple[Sequence[ReceivedEvent], dict[str, datetime]]] = []
    start = 0
    for index in range(1, len(events) + 1):
        ends = index == len(events) or _declined_between(
            history.declines, events[index - 1].event.occurred_at, events[index].event.occurred_at
        )
        if ends:
            run = events[start:index]
            runs.append((run, _declined_by(history.declines, run[0].event.occurred_at)))
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


def _subjects(history: CustomerHistory, state: CustomerState, declined: dict[str, datetime]) -> Subjects:
    profile = history.profile

    def state_of(_: str) -> CustomerState:
        return state

    def profile_of(_: str) -> CustomerProfile | None:
        return profile

    return Subjects(state_of, profile_of, {history.customer_id: declined}, _no_topic)


def _no_topic(_: Trigger) -> str:
    # A backtest publishes nothing: the outbox it builds is thrown away.
    return ""
