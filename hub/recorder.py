"""The history stage: record each customer's events, decide, and publish triggers.

For every batch, in one PostgreSQL transaction: store the events (only new ones are
inserted); decide on the new ones; schedule and cancel checks; fire the checks that the
batch's event time has made due; store every decision and the triggers to publish (the
outbox). Then fold the events into each customer's hot state, publish and mark the
triggers published. A crash at any point replays the batch: stored events are then
duplicates that decide nothing again, and whatever an earlier owner of the partition
recorded but did not publish is published now.
"""

import asyncio
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from hub import metrics
from hub.clock import Clock, utc_now
from hub.core.decide import Decided, Decision, DecisionConfig, Subject, decide, decide_due
from hub.core.drafts import ScheduledCheck
from hub.core.money import Rates
from hub.core.rules.engine import count_event
from hub.core.rules.spec import RuleSpec
from hub.core.state import SENT_MEMORY, CustomerState
from hub.dead_letter import SourceRecord, dead_letter
from hub.runtime import retrying
from hub.settings import Settings
from hub.sink import RecordSink
from hub.storage.customer_state import StateCache
from hub.storage.history import HistoryStore
from hub.storage.records import AcceptedRecord, OutboxEntry, ReceivedEvent
from hub.storage.unit_of_work import UnitOfWork
from schemas import topics
from schemas.interaction import INTERACTION_ADAPTER, WebApplicationEvent
from schemas.profile import CustomerProfile
from schemas.trigger import Trigger

# A check fires once its partition's event time is this far past its due time, so that
# a follow-up arriving a little late (another channel, a slower system) still counts.
CHECK_GRACE = timedelta(seconds=60)


ProfileLookup = Callable[[str], bytes | None]
RuleSource = Callable[[], list[RuleSpec]]


@functools.lru_cache(maxsize=16_384)
def _parse_profile(raw: bytes) -> CustomerProfile:
    # Profiles change rarely and are read for every batch a customer appears in; the
    # bytes are the cache key, so an updated profile is parsed afresh.
    return CustomerProfile.model_validate_json(raw)


@dataclass(slots=True)
class _Batch:
    """What one batch accumulates between the transaction and the publication."""

    states: dict[str, CustomerState] = field(default_factory=dict)
    shard_of: dict[str, int] = field(default_factory=dict)
    """Customer -> the partition (of the channel and internal topics) that holds their state."""
    declined: dict[str, dict[str, datetime]] = field(default_factory=dict)
    decided: list[Decided] = field(default_factory=list)
    outbox: list[OutboxEntry] = field(default_factory=list)


def _clock_of(item: ReceivedEvent) -> datetime:
    """How far an event moves its partition's event time: never past its own receipt, so
    that a clock-skewed event from the future does not fire other customers' checks."""
    return min(item.event.occurred_at, item.received_at) - CHECK_GRACE


def _watermarks(events: Sequence[ReceivedEvent]) -> dict[int, datetime]:
    marks: dict[int, datetime] = {}
    for item in events:
        marks[item.shard] = max(marks.get(item.shard, _clock_of(item)), _clock_of(item))
    return marks


class HistoryRecorder:
    def __init__(
        self,
        settings: Settings,
        store: HistoryStore,
        sink: RecordSink,
        states: StateCache,
        profiles: ProfileLookup,
        rules: RuleSource,
        clock: Clock = utc_now,
    ) -> None:
        self._settings = settings
        self._store = store
        self._sink = sink
        self._states = states
        self._profiles = profiles
        self._rules = rules
        self._clock = clock
        self._rates = Rates(settings.fx_rates, settings.home_currency)
        self._hasher = settings.require_pii_key()
        self._care_topic = settings.topic(topics.TRIGGERS_CARE)
        self._sales_topic = settings.topic(topics.TRIGGERS_CROSS_SELL)
        self._dlq_topic = settings.topic(topics.INTERACTIONS_DLQ)

    async def handle(self, records: Sequence[AcceptedRecord]) -> None:
        received = await self._parse(records)
        batch = _Batch()
        for item in received:
            batch.shard_of[item.event.customer.customer_id or ""] = item.shard
        config = DecisionConfig(
            self._rules(),
            self._settings.tiers,
            self._rates,
            self._settings.policy,
            ZoneInfo(self._settings.default_time_zone),
        )
        try:
            async with self._store.unit_of_work() as work:
                leftovers = await self._decide(work, received, config, batch)
        except BaseException:
            # What the batch changed in memory is not what PostgreSQL holds: a retry
            # starts from the stored states.
            self._states.discard(batch.states)
            raise
        self._states.commit()
        metrics.TRIGGERS_REPUBLISHED.inc(len(leftovers))
        self._count(batch.decided)
        await self._publish(leftovers + batch.outbox, received)

    async def _decide(
        self, work: UnitOfWork, events: Sequence[ReceivedEvent], config: DecisionConfig, batch: _Batch
    ) -> list[OutboxEntry]:
        """The batch's transaction; returns the triggers an earlier owner left unpublished."""
        new_ids = await work.add_interactions(events, self._hasher)
        leftovers = await work.unpublished_triggers(sorted({r.shard for r in events}))
        due = await work.due_checks(_watermarks(events))
        for check, shard in due:
            batch.shard_of[check.customer_id] = shard
        await self._recall(work, events, batch)
        await self._decide_in_event_time(work, events, new_ids, due, config, batch)
        # Checks scheduled by this very batch and already due (a deposit maturing soon).
        due_now = await work.due_checks(_watermarks(events))
        newcomers = {c.customer_id: shard for c, shard in due_now if c.customer_id not in batch.shard_of}
        batch.declined.update(await work.declined_offers(sorted(newcomers)))
        batch.shard_of.update(newcomers)
        await self._states.ensure(work, newcomers)
        for check, shard in due_now:
            self._fire(check, shard, config, batch)
        await work.add_decisions(batch.decided)
        await work.add_triggers(batch.outbox)
        await work.save_states(
            [
                (customer_id, batch.shard_of[customer_id], state.to_bytes())
                for customer_id, state in batch.states.items()
            ]
        )
        return leftovers

    async def _recall(self, work: UnitOfWork, events: Sequence[ReceivedEvent], batch: _Batch) -> None:
        """Load the states; a customer with none stored gets what counted against the policy
        from the decision log (decisions made before the hub kept states in PostgreSQL)."""
        customers = sorted(batch.shard_of)
        batch.declined = await work.declined_offers(customers)
        unknown = await self._states.ensure(work, batch.shard_of)
        if not unknown:
            return
        earliest = min((e.event.occurred_at for e in events), default=self._clock()) - SENT_MEMORY
        for customer_id, sent in await work.counted_decisions(sorted(unknown), earliest):
            self._state(batch, customer_id).record_sent(sent)

    async def _decide_in_event_time(
        self,
        work: UnitOfWork,
        events: Sequence[ReceivedEvent],
        new_ids: set[str],
        due: Sequence[tuple[ScheduledCheck, int]],
        config: DecisionConfig,
        batch: _Batch,
    ) -> None:
        """Events in order, each after the checks its partition's event time made due first,
        so that the outcome does not depend on where batch boundaries fall."""
        pending = sorted(due, key=lambda item: (item[0].due_at, item[0].check_id))
        clock: dict[int, datetime] = {}
        schedules, cancellations, acquisitions = [], [], []
        decided_ids: set[str] = set()
        for item in events:
            event = item.event
            clock[item.shard] = max(clock.get(item.shard, _clock_of(item)), _clock_of(item))
            for check, shard in [
                p for p in pending if p[1] == item.shard and p[0].due_at <= clock[item.shard]
            ]:
                pending.remove((check, shard))
                self._fire(check, shard, config, batch)
            customer_id = event.customer.customer_id
            assert customer_id is not None
            state = self._state(batch, customer_id)
            if event.event_id not in new_ids or event.event_id in decided_ids:
                metrics.EVENTS_DUPLICATE.labels(event.channel).inc()
                count_event(event, state, config.rules, config.rates)
                state.apply(event)
                continue
            decided_ids.add(event.event_id)
            metrics.EVENTS_RECORDED.labels(event.channel).inc()
            subject = Subject(
                customer_id, state, self._profile_of(customer_id), batch.declined.get(customer_id, {})
            )
            decision = decide(event, subject, config)
            self._collect(decision, event.event_id, item.shard, batch)
            schedules += [(check, item.shard) for check in decision.schedules]
            cancellations += decision.cancellations
            if isinstance(event, WebApplicationEvent) and event.type == "application_submitted":
                acquisitions.append((customer_id, event.payload.product, event.occurred_at, "application"))
            state.apply(event)
        for check, shard in pending:
            self._fire(check, shard, config, batch)
        # Scheduled first: a follow-up in the same batch must find the check to cancel.
        await work.schedule(schedules)
        await work.cancel(cancellations)
        await work.record_acquisitions(acquisitions)

    def _fire(self, check: ScheduledCheck, shard: int, config: DecisionConfig, batch: _Batch) -> None:
        state = self._state(batch, check.customer_id)
        subject = Subject(
            check.customer_id,
            state,
            self._profile_of(check.customer_id),
            batch.declined.get(check.customer_id, {}),
        )
        self._collect(decide_due(check, subject, config), check.check_id, shard, batch)

    async def _parse(self, records: Sequence[AcceptedRecord]) -> list[ReceivedEvent]:
        received, rejected = [], []
        for record in records:
            try:
                event = record.event or INTERACTION_ADAPTER.validate_json(record.value)
                customer_id = record.customer_id or event.customer.customer_id
                if customer_id is None or "\x00" in customer_id:
                    raise ValueError("no customer")
            except (ValidationError, ValueError):
                # Ingest validated it with the same models and named its customer: only a
                # record written to the internal topic by something else gets here. It
                # must not stop the stream.
                source = SourceRecord(record.topic, record.partition, record.offset, None, record.value)
                reason = "schema: not a valid interaction for a customer on the internal topic"
                rejected.append(
                    await dead_letter(
                        self._sink,
                        self._dlq_topic,
                        source,
                        category="schema",
                        reason=reason,
                        now=self._clock(),
                    )
                )
                continue
            if customer_id != event.customer.customer_id:
                resolved = event.customer.model_copy(update={"customer_id": customer_id})
                event = event.model_copy(update={"customer": resolved})
            received.append(
                ReceivedEvent(
                    event, record.received_at, record.topic, record.partition, record.offset, record.shard
                )
            )
        await asyncio.gather(*rejected)
        return received

    def _collect(self, decision: Decision, caused_by: str, shard: int, batch: _Batch) -> None:
        batch.decided += decision.decided
        for trigger in decision.triggers:
            batch.outbox.append(OutboxEntry(trigger, self._topic_for(trigger), caused_by, shard))

    def _state(self, batch: _Batch, customer_id: str) -> CustomerState:
        if customer_id not in batch.states:
            batch.states[customer_id] = self._states.get(customer_id)
        return batch.states[customer_id]

    def _profile_of(self, customer_id: str) -> CustomerProfile | None:
        raw = self._profiles(customer_id)
        return None if raw is None else _parse_profile(raw)

    def _topic_for(self, trigger: Trigger) -> str:
        return self._care_topic if trigger.kind == "care" else self._sales_topic

    def _count(self, decided: Sequence[Decided]) -> None:
        for d in decided:
            metrics.DECISIONS.labels(d.verdict.draft.rule.id, d.verdict.outcome, d.verdict.policy or "").inc()

    async def _publish(self, entries: Sequence[OutboxEntry], received: Sequence[ReceivedEvent]) -> None:
        if not entries:
            return
        acks = [
            await self._sink.send(
                e.topic, e.trigger.customer_id.encode(), e.trigger.model_dump_json().encode()
            )
            for e in entries
        ]
        await asyncio.gather(*acks)
        # Retried on its own: replaying the whole batch for it would publish it all again.
        ids = [e.trigger.trigger_id for e in entries]
        await retrying(partial(self._store.mark_published, ids), "marking triggers published")
        self._observe(entries, {r.event.event_id: r for r in received})

    def _observe(self, entries: Sequence[OutboxEntry], by_id: Mapping[str, ReceivedEvent]) -> None:
        now = self._clock()
        for entry in entries:
            trigger = entry.trigger
            metrics.TRIGGERS_PUBLISHED.labels(trigger.kind, trigger.rule.id).inc()
            cause = by_id.get(entry.caused_by)
            if cause is not None:
                metrics.TRIGGER_LATENCY.labels("event_time").observe(
                    max(0.0, (now - cause.event.occurred_at).total_seconds())
                )
                metrics.TRIGGER_LATENCY.labels("receipt").observe(
                    max(0.0, (now - cause.received_at).total_seconds())
                )
