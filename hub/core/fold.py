"""The history stage's decisions for one batch, as pure functions.

The recorder reads what a batch needs (which events are new, the stored checks that the
batch's event time has made due, states, profiles, declined offers), calls
:func:`decide_batch`, writes what it returns (schedules, fired and cancelled checks,
decisions, the outbox, the states) in the same transaction, and publishes. The same
function serves the worker, the tests and a backtest.

Order is what makes replays and batch boundaries irrelevant: events are decided in the
order given (the hot path releases them in event-time order), each after the stored
checks that its shard's event time has passed, and a duplicate changes the state as
the first delivery did but decides nothing again.
"""

import heapq
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from hub.core.decide import Decided, Decision, DecisionConfig, Subject, decide, decide_due
from hub.core.drafts import Cancellation, ScheduledCheck
from hub.core.groups import GroupPitches, top_group
from hub.core.records import OutboxEntry, ReceivedEvent
from hub.core.rules.engine import count_event
from hub.core.state import CustomerState
from schemas.interaction import WebApplicationEvent
from schemas.profile import CustomerProfile
from schemas.trigger import Trigger

Acquisition = tuple[str, str, datetime, str]
"""(customer_id, product, at, source): the first time a customer is seen to hold a product."""


@dataclass(frozen=True, slots=True)
class Subjects:
    """What the rules may know of each customer of the batch, as loaded for it."""

    state_of: Callable[[str], CustomerState]
    """The customer's hot state; decisions change it in place."""
    profile_of: Callable[[str], CustomerProfile | None]
    declined: Mapping[str, Mapping[str, datetime]]
    topic_for: Callable[[Trigger], str]
    """The topic a trigger is published on."""
    pitches: GroupPitches | None = None
    """The group-level cap's claims of the batch's groups (None: no group is known)."""
    _known: dict[str, Subject] = field(default_factory=dict, init=False, compare=False, repr=False)

    def of(self, customer_id: str) -> Subject:
        """The customer as loaded now: the same subject while their state and profile are."""
        state, profile = self.state_of(customer_id), self.profile_of(customer_id)
        subject = self._known.get(customer_id)
        if subject is None or subject.state is not state or subject.profile is not profile:
            declined = dict(self.declined.get(customer_id, {}))
            group_id, group = self._group(profile)
            subject = self._known[customer_id] = Subject(
                customer_id, state, profile, declined, group_id, group, self.pitches
            )
        return subject

    def _group(self, profile: CustomerProfile | None) -> tuple[str | None, CustomerProfile | None]:
        """The top group of a company, and its profile, as far as the profiles tell."""
        if profile is None or profile.group_id is None:
            return None, None

        def group_of(customer_id: str) -> str | None:
            if customer_id == profile.customer_id:
                return profile.group_id
            found = self.profile_of(customer_id)
            return found.group_id if found is not None else None

        top = top_group(profile.customer_id, group_of)
        return top, self.profile_of(top) if top is not None else None


@dataclass(slots=True)
class BatchDecisions:
    """What a batch decided: to write in its transaction, then to publish."""

    decided: list[Decided] = field(default_factory=list)
    outbox: list[OutboxEntry] = field(default_factory=list)
    schedules: list[tuple[ScheduledCheck, int]] = field(default_factory=list)
    """Checks scheduled by the batch, to store (those it fired or answered too)."""
    fired: list[str] = field(default_factory=list)
    """Ids of the checks the batch fired, stored before or scheduled by it."""
    answered: list[str] = field(default_factory=list)
    """Ids of checks the batch scheduled and a later follow-up of it answered."""
    cancellations: list[Cancellation] = field(default_factory=list)
    """Follow-ups, for the checks stored before the batch that they answer; applied
    before the batch's own schedules are stored, which they must not touch."""
    acquisitions: list[Acquisition] = field(default_factory=list)
    recorded: Counter[str] = field(default_factory=Counter)
    """New events by channel."""
    duplicates: Counter[str] = field(default_factory=Counter)
    """Events by channel whose event_id was stored before (or earlier in the batch)."""
    company_copies: Counter[str] = field(default_factory=Counter)
    """Companies' copies of events done for them, ``recorded`` or ``duplicate``: counted
    apart, so that the two counters above count each event once."""

    def collect(self, decision: Decision, caused_by: str, shard: int, subjects: Subjects) -> None:
        if not decision.decided:  # most events decide nothing
            return
        self.decided += decision.decided
        for trigger in decision.triggers:
            self.outbox.append(OutboxEntry(trigger, subjects.topic_for(trigger), caused_by, shard))


def event_clock(item: ReceivedEvent) -> datetime:
    """How far an event moves its shard's event time (:attr:`ReceivedEvent.clock`)."""
    return item.clock


def watermarks(events: Sequence[ReceivedEvent]) -> dict[int, datetime]:
    """Each shard's event time after the batch: checks due by it fire."""
    marks: dict[int, datetime] = {}
    for item in events:
        clock = event_clock(item)
        marks[item.shard] = max(marks.get(item.shard, clock), clock)
    return marks


class _Pending:
    """The checks not settled yet, per shard in due order, and per customer for follow-ups."""

    def __init__(self, due: Sequence[tuple[ScheduledCheck, int]]) -> None:
        self._by_shard: dict[int, list[tuple[datetime, str, ScheduledCheck]]] = {}
        self._by_customer: dict[str, list[ScheduledCheck]] = {}
        self._settled: set[str] = set()
        for check, shard in due:
            self.add(check, shard)

    def add(self, check: ScheduledCheck, shard: int) -> None:
        heapq.heappush(self._by_shard.setdefault(shard, []), (check.due_at, check.check_id, check))
        self._by_customer.setdefault(check.customer_id, []).append(check)

    def any_due(self, shard: int, clock: datetime) -> bool:
        """Whether a check of ``shard`` is due by ``clock`` (most events find none)."""
        heap = self._by_shard.get(shard)
        if not heap:
            return False
        due, check_id, check = heap[0]
        if due.tzinfo is not clock.tzinfo:
            # Times of two time zones compare 25 times slower; the first check waits for
            # many events (a birthday for months). The same instant keeps the heap's order.
            due = due.astimezone(clock.tzinfo)
            heap[0] = (due, check_id, check)
        return due <= clock

    def passed(self, shard: int, clock: datetime) -> list[ScheduledCheck]:
        """Take the checks of ``shard`` due by ``clock``, in due order."""
        heap = self._by_shard.get(shard, [])
        taken = []
        while heap and heap[0][0] <= clock:
            _, check_id, check = heapq.heappop(heap)
            if check_id not in self._settled:
                self._settled.add(check_id)
                taken.append(check)
        return taken

    def answer(self, cancellation: Cancellation) -> list[str]:
        """Settle the checks ``cancellation`` answers; return their ids."""
        answered = [
            check.check_id
            for check in self._by_customer.get(cancellation.customer_id, [])
            if check.check_id not in self._settled and answers(cancellation, check)
        ]
        self._settled.update(answered)
        return answered


def decide_batch(
    events: Sequence[ReceivedEvent],
    new_ids: set[str],
    due: Sequence[tuple[ScheduledCheck, int]],
    subjects: Subjects,
    config: DecisionConfig,
) -> BatchDecisions:
    """Decide ``events`` in order; a check fires as soon as its shard's event time passes
    it, before the events after that moment, whether it was stored before (``due``: the
    stored pending checks due by the batch's watermarks) or scheduled by this very batch,
    so that where batch boundaries fall changes nothing. A follow-up cancels the checks it
    answers that are not due yet. ``new_ids``: the :attr:`ReceivedEvent.record_key` of each
    copy stored for the first time (for a customer's own events, the event id)."""
    out = BatchDecisions()
    pending = _Pending(due)
    scheduled: set[str] = set()
    clock: dict[int, datetime] = {}
    decided_ids: set[str] = set()
    for item in events:
        shard, at = item.shard, event_clock(item)
        now = clock.get(shard)
        if now is None or at > now:
            clock[shard] = now = at
        if pending.any_due(shard, now):
            _fire(pending.passed(shard, now), shard, subjects, config, out)
        decision = _decide_one(item, new_ids, decided_ids, subjects, config, out)
        if decision is None:
            continue
        for cancellation in decision.cancellations:
            answered = pending.answer(cancellation)
            out.answered += [check_id for check_id in answered if check_id in scheduled]
        for check in decision.schedules:
            if check.check_id not in scheduled:
                scheduled.add(check.check_id)
                out.schedules.append((check, item.shard))
                pending.add(check, item.shard)
    for shard, at in clock.items():
        _fire(pending.passed(shard, at), shard, subjects, config, out)
    return out


def answers(cancellation: Cancellation, check: ScheduledCheck) -> bool:
    """A follow-up answers a check of its rule (and correlation) only before it is due."""
    return (
        check.customer_id == cancellation.customer_id
        and check.rule.id == cancellation.rule_id
        and (cancellation.correlation is None or cancellation.correlation == check.correlation)
        and check.due_at >= cancellation.at
    )


def _fire(
    checks: Sequence[ScheduledCheck],
    shard: int,
    subjects: Subjects,
    config: DecisionConfig,
    out: BatchDecisions,
) -> None:
    for check in checks:
        out.fired.append(check.check_id)
        decision = decide_due(check, subjects.of(check.customer_id), config)
        out.collect(decision, check.check_id, shard, subjects)


def _decide_one(
    item: ReceivedEvent,
    new_ids: set[str],
    decided_ids: set[str],
    subjects: Subjects,
    config: DecisionConfig,
    out: BatchDecisions,
) -> Decision | None:
    """Decide a new event and fold it into its subject's state; a duplicate is only folded.
    The subject is the event's customer, or on a company's copy the company
    (:attr:`ReceivedEvent.party`): each copy is new or a duplicate on its own."""
    event = item.event
    customer_id, side, key = item.placement()
    state = subjects.state_of(customer_id)
    copy = side == "represented"
    if key not in new_ids or key in decided_ids:
        if copy:
            out.company_copies["duplicate"] += 1
        else:
            out.duplicates[event.channel] += 1
        count_event(event, state, config.rules, config.rates, side)
        state.apply(event)
        return None
    decided_ids.add(key)
    if copy:
        out.company_copies["recorded"] += 1
    else:
        out.recorded[event.channel] += 1
    decision = decide(event, subjects.of(customer_id), config, side)
    out.collect(decision, event.event_id, item.shard, subjects)
    out.cancellations += decision.cancellations
    if isinstance(event, WebApplicationEvent) and event.type == "application_submitted":
        out.acquisitions.append((customer_id, event.payload.product, event.occurred_at, "application"))
    state.apply(event)
    return decision
