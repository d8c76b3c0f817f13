"""The history stage: record each customer's events, decide, and publish triggers.

For every batch, in one PostgreSQL transaction: store the events (only new ones are
inserted) and the triggers the new ones cause (the outbox). Then fold the events into
each customer's hot state, publish the triggers and mark them published. A crash at
any point replays the batch: stored events are then duplicates that decide nothing
again, and triggers recorded but not yet published are published from the outbox.
"""

import asyncio
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import ValidationError

from hub import metrics
from hub.clock import Clock, utc_now
from hub.core.decide import DecisionConfig, decide
from hub.core.state import CustomerState
from hub.dead_letter import SourceRecord, dead_letter
from hub.settings import Settings
from hub.sink import RecordSink
from hub.storage.history import HistoryStore, OutboxEntry, ReceivedEvent
from schemas import topics
from schemas.interaction import INTERACTION_ADAPTER
from schemas.profile import CustomerProfile
from schemas.trigger import Trigger


@dataclass(frozen=True, slots=True)
class AcceptedRecord:
    """A validated record from the internal topic; ``origin`` is the consumer's event."""

    value: bytes
    received_at: datetime
    topic: str
    partition: int
    offset: int
    origin: Any = None


class StateTable(Protocol):
    """Per-customer hot state; ``origin`` says which consumed record the write belongs to."""

    def get(self, customer_id: str) -> bytes | None: ...

    def put(self, customer_id: str, value: bytes, origin: Any) -> None: ...


ProfileLookup = Callable[[str], bytes | None]


@functools.lru_cache(maxsize=16_384)
def _parse_profile(raw: bytes) -> CustomerProfile:
    # Profiles change rarely and are read for every batch a customer appears in; the
    # bytes are the cache key, so an updated profile is parsed afresh.
    return CustomerProfile.model_validate_json(raw)


class HistoryRecorder:
    def __init__(
        self,
        settings: Settings,
        store: HistoryStore,
        sink: RecordSink,
        states: StateTable,
        profiles: ProfileLookup,
        clock: Clock = utc_now,
    ) -> None:
        self._store = store
        self._sink = sink
        self._states = states
        self._profiles = profiles
        self._clock = clock
        self._config = DecisionConfig(
            settings.rules, settings.tiers, settings.fx_rates, settings.home_currency
        )
        self._care_topic = settings.topic(topics.TRIGGERS_CARE)
        self._sales_topic = settings.topic(topics.TRIGGERS_CROSS_SELL)
        self._dlq_topic = settings.topic(topics.INTERACTIONS_DLQ)

    async def handle(self, batch: Sequence[AcceptedRecord]) -> None:
        received, origins = await self._parse(batch)
        states: dict[str, CustomerState] = {}
        async with self._store.unit_of_work() as work:
            new_ids = await work.add_interactions(received)
            replayed = [r.event.event_id for r in received if r.event.event_id not in new_ids]
            earlier = await work.triggers_caused_by(replayed)
            outbox = self._decide_and_apply(received, new_ids, states)
            await work.add_triggers(outbox)
        for entry in earlier:
            # A replay after a crash: the state may not know what these events fired.
            customer_id = entry.trigger.customer_id
            if customer_id not in states:
                states[customer_id] = self._state_of(customer_id)
            states[customer_id].record_fired(entry.trigger.rule.id, entry.trigger.created_at)
        for customer_id, state in states.items():
            self._states.put(customer_id, state.to_bytes(), origins[customer_id])
        pending = [e for e in earlier if not e.published]
        metrics.TRIGGERS_REPUBLISHED.inc(len(pending))
        await self._publish(outbox + pending, received)

    async def _parse(self, batch: Sequence[AcceptedRecord]) -> tuple[list[ReceivedEvent], dict[str, Any]]:
        received, origins, rejected = [], {}, []
        for record in batch:
            try:
                event = INTERACTION_ADAPTER.validate_json(record.value)
            except ValidationError as exc:
                # Ingest validated it with the same models: only a record written to the
                # internal topic by something else gets here. It must not stop the stream.
                source = SourceRecord(record.topic, record.partition, record.offset, None, record.value)
                reason = f"schema: not a valid interaction on the internal topic ({exc.error_count()} errors)"
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
            received.append(
                ReceivedEvent(event, record.received_at, record.topic, record.partition, record.offset)
            )
            assert event.customer.customer_id is not None
            origins[event.customer.customer_id] = record.origin
        await asyncio.gather(*rejected)
        return received, origins

    def _state_of(self, customer_id: str) -> CustomerState:
        return CustomerState.from_bytes(self._states.get(customer_id))

    def _decide_and_apply(
        self, received: Sequence[ReceivedEvent], new_ids: set[str], states: dict[str, CustomerState]
    ) -> list[OutboxEntry]:
        outbox: list[OutboxEntry] = []
        profiles: dict[str, CustomerProfile | None] = {}
        decided: set[str] = set()
        for item in received:
            event = item.event
            customer_id = event.customer.customer_id
            assert customer_id is not None
            if customer_id not in states:
                states[customer_id] = self._state_of(customer_id)
                profiles[customer_id] = self._profile_of(customer_id)
            state = states[customer_id]
            if event.event_id in new_ids and event.event_id not in decided:
                decided.add(event.event_id)
                metrics.EVENTS_RECORDED.labels(event.channel).inc()
                decision = decide(event, state, profiles[customer_id], self._config)
                for trigger in decision.triggers:
                    state.record_fired(trigger.rule.id, trigger.created_at)
                    outbox.append(OutboxEntry(trigger, self._topic_for(trigger), event.event_id))
                for suppressed in decision.suppressed:
                    policy = suppressed.policy.partition(":")[0]
                    metrics.TRIGGERS_SUPPRESSED.labels(suppressed.draft.rule.id, policy).inc()
            else:
                metrics.EVENTS_DUPLICATE.labels(event.channel).inc()
            state.apply(event)
        return outbox

    def _profile_of(self, customer_id: str) -> CustomerProfile | None:
        raw = self._profiles(customer_id)
        return None if raw is None else _parse_profile(raw)

    def _topic_for(self, trigger: Trigger) -> str:
        return self._care_topic if trigger.kind == "care" else self._sales_topic

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
        await self._store.mark_published([e.trigger.trigger_id for e in entries])
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
