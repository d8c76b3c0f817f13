"""The history stage: record each customer's events, decide, and publish triggers.

A shell around the pure fold (:mod:`hub.core.fold`). For every batch, in one PostgreSQL
transaction: store the events (only new ones are inserted); load the states, the due
checks and the declined offers; decide (pure); store schedules, cancellations,
decisions, the triggers to publish (the outbox) and the changed states. Then publish
and mark the triggers published. A crash at any point replays the batch: stored events
are then duplicates that decide nothing again, and whatever an earlier owner of the
partition recorded but did not publish is published now.

An event someone did for a company (``on_behalf_of``) arrives twice, once on each
customer's partition (see :mod:`hub.ingest`): the one who acted's copy and the company's
(``party``). Each is recorded in its customer's history (the event row once, whichever
copy comes first, and a row per customer in ``interaction_parties``) and decided on that
customer's own state, by the worker that owns it; neither worker touches the other's
state. Each copy is new or a duplicate by itself, so replays decide nothing twice.
"""

import asyncio
import functools
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from hub import metrics
from hub.clock import Clock, utc_now
from hub.core.decide import DecisionConfig
from hub.core.drafts import ScheduledCheck
from hub.core.fold import BatchDecisions, Subjects, decide_batch, watermarks
from hub.core.groups import GroupPitches, pitch_week, top_group
from hub.core.money import Rates
from hub.core.records import AcceptedRecord, OutboxEntry, ReceivedEvent
from hub.core.rules.spec import RuleSpec
from hub.core.state import SENT_MEMORY, CustomerState
from hub.dead_letter import SourceRecord, dead_letter
from hub.errors import ServiceUnavailable
from hub.runtime import retrying
from hub.settings import Settings
from hub.sink import RecordSink
from hub.storage.customer_state import StateCache
from hub.storage.history import HistoryStore
from hub.storage.unit_of_work import UnitOfWork
from schemas import topics
from schemas.interaction import parse_interaction
from schemas.profile import CustomerProfile
from schemas.trigger import Trigger

log = logging.getLogger(__name__)

ProfileLookup = Callable[[str], bytes | None]
RuleSource = Callable[[], list[RuleSpec]]


@functools.lru_cache(maxsize=16_384)
def _parse_profile(raw: bytes) -> CustomerProfile:
    # Profiles change rarely and are read for every batch a customer appears in; the
    # bytes are the cache key, so an updated profile is parsed afresh.
    return CustomerProfile.model_validate_json(raw)


@dataclass(slots=True)
class _Batch:
    """What one batch loaded and touched."""

    states: dict[str, CustomerState] = field(default_factory=dict)
    shard_of: dict[str, int] = field(default_factory=dict)
    """Customer -> the partition (of the channel and internal topics) that holds their state."""
    declined: dict[str, dict[str, datetime]] = field(default_factory=dict)
    profiles: dict[str, CustomerProfile | None] = field(default_factory=dict)


class PublishedCheck(Protocol):
    """Which of the outbox's unpublished triggers are on their topic already
    (:class:`hub.published.TopicScan`)."""

    async def published(self, entries: Sequence[OutboxEntry]) -> set[str]: ...


async def _failed(exc: BaseException) -> None:
    raise exc


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
        published: PublishedCheck | None = None,
    ) -> None:
        self._settings = settings
        self._published = published
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
            batch.shard_of[item.subject_id] = item.shard
        config = DecisionConfig(
            self._rules(),
            self._settings.tiers,
            self._rates,
            self._settings.policy,
            ZoneInfo(self._settings.default_time_zone),
        )
        try:
            async with self._store.unit_of_work() as work:
                decisions, leftovers, saved = await self._decide(work, received, config, batch)
        except BaseException:
            # What the batch changed in memory is not what PostgreSQL holds: a retry
            # starts from the stored states.
            self._states.discard(batch.states)
            raise
        self._states.commit(saved)
        leftovers = await self._not_yet_on_their_topic(leftovers)
        metrics.TRIGGERS_REPUBLISHED.inc(len(leftovers))
        self._count(decisions)
        await self._publish(leftovers + decisions.outbox, received)

    async def _not_yet_on_their_topic(self, leftovers: list[OutboxEntry]) -> list[OutboxEntry]:
        """Of the triggers an earlier owner left unpublished, those it did not get to send:
        the others are only marked published (it was killed between the two)."""
        if not leftovers or self._published is None:
            return leftovers
        found = await retrying(partial(self._published.published, leftovers), "reading the trigger topics")
        if found:
            ids = sorted(found)
            await retrying(partial(self._store.mark_published, ids), "marking triggers published")
        return [e for e in leftovers if e.trigger.trigger_id not in found]

    async def _decide(
        self, work: UnitOfWork, events: Sequence[ReceivedEvent], config: DecisionConfig, batch: _Batch
    ) -> tuple[BatchDecisions, list[OutboxEntry], list[tuple[str, int, bytes]]]:
        """The batch's transaction; also returns the triggers an earlier owner left
        unpublished and the states it saved (customer, shard, encoded)."""
        new_ids = await work.add_interactions(events, self._hasher)
        leftovers = await work.unpublished_triggers(sorted({r.shard for r in events}))
        due = await work.due_checks(watermarks(events))
        for check, shard in due:
            batch.shard_of[check.customer_id] = shard
        await self._recall(work, events, batch)
        pitches = await self._group_pitches(work, [e.event.occurred_at for e in events], due, batch)
        subjects = Subjects(
            partial(self._state, batch),
            partial(self._profile_of, batch),
            batch.declined,
            self._topic_for,
            pitches,
        )
        decisions = decide_batch(events, new_ids, due, subjects, config)
        await work.claim_pitches(pitches.claimed)
        # Cancelled first: the batch's follow-ups answer only checks stored before it (the
        # fold settled its own); then its schedules, then what it fired or answered.
        await work.cancel(decisions.cancellations)
        await work.schedule(decisions.schedules)
        await work.settle(decisions.fired, "fired")
        await work.settle(decisions.answered, "cancelled")
        await work.record_acquisitions(decisions.acquisitions)
        await work.add_decisions(decisions.decided)
        await work.add_triggers(decisions.outbox)
        saved = [
            (customer_id, batch.shard_of[customer_id], state.to_bytes())
            for customer_id, state in batch.states.items()
        ]
        await work.save_states(saved)
        return decisions, leftovers, saved

    async def _group_pitches(
        self,
        work: UnitOfWork,
        times: Sequence[datetime],
        due: Sequence[tuple[ScheduledCheck, int]],
        batch: _Batch,
    ) -> GroupPitches:
        """The group-level cap's claims of the groups the batch's companies belong to."""

        def group_of(customer_id: str) -> str | None:
            profile = self._profile_of(batch, customer_id)
            return profile.group_id if profile is not None else None

        groups = {top_group(customer_id, group_of) for customer_id in batch.shard_of}
        groups.discard(None)
        if not groups:
            return GroupPitches()
        earliest = min([*times, *(check.due_at for check, _ in due)], default=self._clock())
        named = sorted(g for g in groups if g is not None)
        stored = await work.group_pitches(named, pitch_week(earliest))
        return GroupPitches(stored)

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

    async def dead_letter_poisoned(self, poisoned: Sequence[tuple[AcceptedRecord, Exception]]) -> None:
        """Dead-letter records whose handling failed alone (see the hot path's isolation).
        The reason names the exception's type only: its message may quote the record."""
        acks = []
        for record, error in poisoned:
            kind = type(error).__name__
            log.error(
                "isolated a record that fails to be recorded (%s): %s[%d]@%d dead-lettered",
                kind,
                record.topic,
                record.partition,
                record.offset,
            )
            source = SourceRecord(record.topic, record.partition, record.offset, record.key, record.value)
            acks.append(
                await dead_letter(
                    self._sink,
                    self._dlq_topic,
                    source,
                    category="processing_error",
                    reason=f"processing_error: {kind} while recording and deciding the event",
                    now=self._clock(),
                )
            )
        await asyncio.gather(*acks)

    async def _parse(self, records: Sequence[AcceptedRecord]) -> list[ReceivedEvent]:
        received, rejected = [], []
        for record in records:
            try:
                event = record.event or parse_interaction(record.value)
                customer_id = record.customer_id or event.customer.customer_id
                if customer_id is None or "\x00" in customer_id or "\x00" in (record.party or ""):
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
                    event,
                    record.received_at,
                    record.topic,
                    record.partition,
                    record.offset,
                    record.shard,
                    party=record.party,
                )
            )
        await asyncio.gather(*rejected)
        return received

    def _state(self, batch: _Batch, customer_id: str) -> CustomerState:
        if customer_id not in batch.states:
            batch.states[customer_id] = self._states.get(customer_id)
        return batch.states[customer_id]

    def _profile_of(self, batch: _Batch, customer_id: str) -> CustomerProfile | None:
        # Once per customer and batch: every decision asks, and the profile table's reads
        # (RocksDB) showed in the profile.
        if customer_id not in batch.profiles:
            raw = self._profiles(customer_id)
            batch.profiles[customer_id] = None if raw is None else _parse_profile(raw)
        return batch.profiles[customer_id]

    def _topic_for(self, trigger: Trigger) -> str:
        return self._care_topic if trigger.kind == "care" else self._sales_topic

    def _count(self, decisions: BatchDecisions) -> None:
        for channel, n in decisions.recorded.items():
            metrics.labelled(metrics.EVENTS_RECORDED, channel).inc(n)
        for channel, n in decisions.duplicates.items():
            metrics.labelled(metrics.EVENTS_DUPLICATE, channel).inc(n)
        for outcome, n in decisions.company_copies.items():
            metrics.labelled(metrics.COMPANY_COPIES, outcome).inc(n)
        verdicts = Counter(
            (d.verdict.draft.rule.id, d.verdict.outcome, d.verdict.policy or "") for d in decisions.decided
        )
        for labels, n in verdicts.items():
            metrics.labelled(metrics.DECISIONS, *labels).inc(n)

    async def _publish(self, entries: Sequence[OutboxEntry], received: Sequence[ReceivedEvent]) -> None:
        if not entries:
            return
        acks: list[Awaitable[Any]] = []
        for e in entries:  # enqueued in order; a send refused at once fails like a lost ack
            try:
                body = e.trigger.model_dump_json().encode()
                acks.append(await self._sink.send(e.topic, e.trigger.customer_id.encode(), body))
            except ServiceUnavailable as exc:
                acks.append(_failed(exc))
        results = await asyncio.gather(*acks, return_exceptions=True)
        # Those the broker acknowledged are marked published even when others of the batch
        # failed (the broker went away halfway): the retry publishes only the rest. Marking
        # none made a retry publish the acknowledged ones a second time (a chaos run).
        done = [
            e for e, result in zip(entries, results, strict=True) if not isinstance(result, BaseException)
        ]
        if done:
            # Retried on its own: replaying the whole batch for it would publish it all again.
            ids = [e.trigger.trigger_id for e in done]
            await retrying(partial(self._store.mark_published, ids), "marking triggers published")
            self._observe(done, {r.event.event_id: r for r in received})
        for result in results:
            if isinstance(result, BaseException):
                raise result

    def _observe(self, entries: Sequence[OutboxEntry], by_id: Mapping[str, ReceivedEvent]) -> None:
        now = self._clock()
        for entry in entries:
            trigger = entry.trigger
            metrics.labelled(metrics.TRIGGERS_PUBLISHED, trigger.kind, trigger.rule.id).inc()
            cause = by_id.get(entry.caused_by)
            if cause is not None:
                metrics.labelled(metrics.TRIGGER_LATENCY, "event_time").observe(
                    max(0.0, (now - cause.event.occurred_at).total_seconds())
                )
                metrics.labelled(metrics.TRIGGER_LATENCY, "receipt").observe(
                    max(0.0, (now - cause.received_at).total_seconds())
                )
