"""The hot path: one aiokafka consumer loop per worker, hosted in the Faust app.

Faust's consumer, stream and event machinery costs 120-140 µs of CPU per record whatever
the batch size, and its producer defaults send many tiny requests (docs/benchmarks.md).
The channel topics and the internal topic of re-keyed events are therefore read here in
large batches by a plain aiokafka consumer; Faust keeps the worker's lifecycle, its web
server and the low-volume agents (profiles, outcomes, identity resolution).

One pass per event: a channel record keyed by its customer id, on the partition the
internal topic would give that key, is validated once and recorded right here (its
shard is its partition number; the consumer's range assignor gives one worker the same
partition number of every topic). Only events named by an identifier, keyed by
something else or merged into another customer take a second hop.

Per batch: route (dead letters and second hops sent), align in event time across the
shard's input partitions, record and decide in one PostgreSQL transaction, publish the
triggers, and only then commit, per partition, up to the first record not yet handled.
"""

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import mode
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from pydantic import ValidationError

from hub import metrics
from hub.core.alignment import Aligner, Source
from hub.core.records import AcceptedRecord
from hub.dead_letter import SourceRecord
from hub.errors import BrokerUnavailable
from hub.ingest import HEADER_CUSTOMER, HEADER_PARTY, Identity, Ingestor, read_source
from hub.isolation import isolate
from hub.kafka_app import client_options
from hub.partitions import home_partition
from hub.published import TopicScan
from hub.recorder import HistoryRecorder, ProfileLookup, RuleSource
from hub.runtime import Runtime, finish_before_stopping, retrying
from hub.sink import with_content_type
from hub.storage.customer_state import StateCache
from schemas import topics
from schemas.interaction import Interaction, parse_interaction

log = logging.getLogger(__name__)

FETCH_BYTES = 4 * 1024 * 1024
_EARLIEST = datetime.min.replace(tzinfo=UTC)


@functools.lru_cache(maxsize=65_536)
class AiokafkaSink:
    """A :class:`hub.sink.RecordSink` on an aiokafka producer that batches (linger)."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer

    async def send(
        self, topic: str, key: bytes | None, value: bytes, headers: Mapping[str, bytes] | None = None
    ) -> Awaitable[Any]:
        try:
            future: Awaitable[Any] = await self._producer.send(
                topic, value, key=key, headers=list(with_content_type(headers).items())
            )
        except KafkaError as exc:
            raise BrokerUnavailable(f"sending to {topic} failed: {exc}") from exc
        return _converted(future, topic)


async def _converted(future: Awaitable[Any], topic: str) -> Any:
    try:
        return await future
    except KafkaError as exc:
        raise BrokerUnavailable(f"the broker did not acknowledge a record for {topic}: {exc}") from exc


class HotPath(mode.Service):
    """The consumer loop; started and stopped with the Faust app (``app.service``)."""

    def __init__(
        self,
        runtime: Runtime,
        identity: Identity,
        profiles: ProfileLookup,
        rules: RuleSource,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        settings = runtime.settings
        self._runtime = runtime
        self._settings = settings
        self._identity = identity
        self._profiles = profiles
        self._rules = rules
        self._channel_topics = [settings.topic(t) for t in topics.CHANNEL_TOPICS.values()]
        self._accepted_topic = settings.topic(topics.INTERACTIONS_ACCEPTED)
        self._copartitioned: set[str] = set()
        self._states = StateCache(settings.stream.state_cache_customers)
        self._aligner: Aligner[AcceptedRecord] = Aligner(settings.stream.alignment_ms / 1000, self._inputs_of)
        self._fetched_until: dict[TopicPartition, int] = {}
        self._committed: dict[TopicPartition, int] = {}
        self._caught_up: set[Source] = set()
        """Input partitions with nothing more to fetch when the batch in hand was fetched."""
        self._in_flight: dict[TopicPartition, list[tuple[int, datetime]]] = {}
        """(offset, event time) of events this worker re-keyed onto the internal topic that it
        has not fetched back yet."""
        self._in_flight_earliest: dict[Source, datetime] = {}
        self._batch_lock = asyncio.Lock()
        self._committing: asyncio.Future[None] | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._ingestor: Ingestor | None = None
        self._recorder: HistoryRecorder | None = None
        self._profiles_stored = False
        self.ready = asyncio.Event()
        """Set once the profiles published before the start are stored and the consumer has
        its first partitions."""

    # --- lifecycle ----------------------------------------------------------------------

    async def on_start(self) -> None:
        settings = self._settings
        options = client_options(settings)
        self._producer = AIOKafkaProducer(
            **options,
            acks="all",
            enable_idempotence=True,
            linger_ms=settings.stream.linger_ms,
            max_batch_size=512 * 1024,
        )
        self._consumer = AIOKafkaConsumer(
            **options,
            group_id=settings.hot_path_group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            partition_assignment_strategy=(RangePartitionAssignor,),
            max_partition_fetch_bytes=FETCH_BYTES,
            fetch_max_wait_ms=settings.stream.fetch_wait_ms,
            session_timeout_ms=int(settings.session_timeout_s * 1000),
            heartbeat_interval_ms=int(settings.session_timeout_s * 1000 / 3),
            fetch_max_bytes=4 * FETCH_BYTES,
        )
        try:
            await self._producer.start()
            await self._consumer.start()
        except KafkaError as exc:
            raise BrokerUnavailable(f"the hot path cannot reach Kafka: {exc}") from exc
        self._consumer.subscribe([*self._channel_topics, self._accepted_topic], listener=_Rebalance(self))
        sink = AiokafkaSink(self._producer)
        store = await self._runtime.store()
        self._ingestor = Ingestor(settings, sink, self._identity, is_home=self._is_home)
        self._recorder = HistoryRecorder(
            settings,
            store,
            sink,
            self._states,
            self._profiles,
            self._rules,
            published=TopicScan(client_options(settings), self._producer),
        )

    async def on_stop(self) -> None:
        # The loop task was cancelled and its batch finished (or handed back) first.
        async with self._batch_lock:
            with contextlib.suppress(BrokerUnavailable):
                await self._commit_done()
            await self._commit()
        if self._consumer is not None:
            await self._consumer.stop()
        if self._producer is not None:
            await self._producer.stop()

    @mode.Service.task
    async def _consume(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        await retrying(self._wait_for_profiles, "waiting for the profiles to be stored")
        self._profiles_stored = True
        if consumer.assignment():
            self.ready.set()
        while not self.should_stop:
            timeout_ms = 20 if self._aligner.waiting() else 200
            fetched = await consumer.getmany(
                timeout_ms=timeout_ms, max_records=self._settings.stream.batch_max
            )
            async with self._batch_lock:
                await finish_before_stopping(self._handle(fetched))

    async def _wait_for_profiles(self) -> None:
        """Before the first decision, let the profile agent (any worker's) store every
        profile published so far: a backlog read after an outage holds events that sit
        ahead of their customers' profiles, which would otherwise be decided without one."""
        settings = self._settings
        topic = settings.topic(topics.CUSTOMERS_PROFILE)
        admin = AIOKafkaAdminClient(**client_options(settings))
        try:
            await admin.start()
            described = await admin.describe_topics([topic])
            partitions = [TopicPartition(topic, p["partition"]) for p in described[0]["partitions"]]
            assert self._consumer is not None
            ends = await self._consumer.end_offsets(partitions)
            deadline = time.monotonic() + settings.stream.profiles_wait_s
            while not self.should_stop:
                committed = await admin.list_consumer_group_offsets(settings.app_id, partitions=partitions)
                behind = sum(max(0, ends[tp] - _offset(committed.get(tp))) for tp in partitions)
                if behind <= 0:
                    return
                if time.monotonic() > deadline:
                    log.warning(
                        "deciding before %d profile(s) were stored: the profile agent did not catch up "
                        "within HUB_STREAM__PROFILES_WAIT_S=%s",
                        behind,
                        settings.stream.profiles_wait_s,
                    )
                    return
                await asyncio.sleep(0.5)
        except KafkaError as exc:
            raise BrokerUnavailable(f"reading the profile topic's progress failed: {exc}") from exc
        finally:
            await admin.close()

    # --- one batch ----------------------------------------------------------------------

    async def _handle(self, fetched: Mapping[TopicPartition, Sequence[Any]]) -> None:
        assert self._recorder is not None
        channel: list[SourceRecord] = []
        now = time.monotonic()
        for tp, messages in fetched.items():
            self._fetched_until[tp] = messages[-1].offset + 1
        self._caught_up = await self._caught_up_at_fetch()
        for tp, messages in fetched.items():
            if tp.topic == self._accepted_topic:
                for message in messages:
                    self._hold(_accepted(message), (tp.topic, tp.partition), message.offset, now)
            else:
                channel += [SourceRecord.of(m) for m in messages]
        # Second hops and dead letters are on the broker before anything is committed.
        home = await retrying(functools.partial(self._route, channel), "ingesting a batch")
        for record in home:
            self._hold(record, (record.topic, record.partition), record.offset, now)
        self._note_in_flight()
        released = self._aligner.release(time.monotonic(), self._pending)
        if released:
            await self._record(released)
        metrics.EVENTS_WAITING_ALIGNMENT.set(self._aligner.waiting())
        # The broker takes ~7 ms to answer a commit: it goes on while the next batch is
        # fetched, and the next commit waits for it.
        await self._commit_done()
        self._committing = asyncio.ensure_future(self._send_commit(self._offsets_handled()))

    async def _record(self, records: Sequence[AcceptedRecord]) -> None:
        """Record and decide ``records``; those that fail alone for good are dead-lettered
        (:func:`hub.isolation.isolate`). Unavailable services are waited out."""
        recorder = self._recorder
        assert recorder is not None

        async def handle(part: Sequence[AcceptedRecord]) -> None:
            await retrying(functools.partial(recorder.handle, part), "recording a batch")

        poisoned = await isolate(records, handle)
        if poisoned:
            dead_letters = functools.partial(recorder.dead_letter_poisoned, poisoned)
            await retrying(dead_letters, "dead-lettering poison records")

    async def _route(self, channel: Sequence[SourceRecord]) -> list[AcceptedRecord]:
        assert self._ingestor is not None
        if not channel:
            return []
        routed = await self._ingestor.route(channel)
        await asyncio.gather(*routed.acks)
        rekeyed = await asyncio.gather(*(ack for ack, _ in routed.rekeyed))
        assert self._consumer is not None
        mine = self._consumer.assignment()
        for sent, (_, at) in zip(rekeyed, routed.rekeyed, strict=True):
            tp = TopicPartition(sent.topic, sent.partition)
            if tp in mine:  # the others' owners do not wait for it
                self._in_flight.setdefault(tp, []).append((sent.offset, at))
        for (topic, partition), at in routed.passed.items():
            self._aligner.passed((topic, partition), partition, at)
        return routed.home

    def _hold(self, record: AcceptedRecord, source: Source, offset: int, now: float) -> None:
        # An unreadable record sorts first; the recorder dead-letters it.
        at = record.event.occurred_at if record.event is not None else _EARLIEST
        if self._aligner.add(source, record.shard, record, at, offset, now):
            metrics.EVENTS_LATE.inc()

    def _note_in_flight(self) -> None:
        """Forget the re-keyed events fetched back; note the earliest still on its way per partition."""
        self._in_flight_earliest = {}
        for tp, sent in self._in_flight.items():
            fetched_until = self._fetched_until.get(tp, 0)
            sent[:] = [(offset, at) for offset, at in sent if offset >= fetched_until]
            if sent:
                self._in_flight_earliest[(tp.topic, tp.partition)] = min(at for _, at in sent)

    def _pending(self, source: Source, at: datetime) -> bool:
        """May ``source`` still bring an event earlier than ``at`` (see :data:`Pending`)?"""
        if source not in self._caught_up:
            return True
        earliest = self._in_flight_earliest.get(source)
        return earliest is not None and earliest < at

    async def _caught_up_at_fetch(self) -> set[Source]:
        """The partitions with nothing more to fetch as the batch was fetched. Asked at
        once: the consumer goes on fetching in the background, and a record that reached
        the broker after the batch was fetched must not make its partition one to wait for
        (under steady live traffic, that was nearly every partition)."""
        consumer = self._consumer
        assert consumer is not None
        caught_up = set()
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            position = self._fetched_until.get(tp)
            if position is None:
                with contextlib.suppress(IllegalStateError):
                    position = await consumer.position(tp)
            if highwater is None or position is None:
                continue
            metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, highwater - position))
            if position >= highwater:
                caught_up.add((tp.topic, tp.partition))
        return caught_up

    async def _commit_done(self) -> None:
        """Wait for the commit in flight; its failure is this batch's."""
        committing, self._committing = self._committing, None
        if committing is not None:
            await committing

    async def _commit(self) -> None:
        """Commit each partition up to its first record not yet handled."""
        await self._send_commit(self._offsets_handled())

    def _offsets_handled(self) -> dict[TopicPartition, int]:
        """Per partition, its first record not yet handled, where that moved since the last commit."""
        offsets = {}
        for tp, fetched_until in self._fetched_until.items():
            held = self._aligner.first_held_offset((tp.topic, tp.partition), tp.partition)
            offset = fetched_until if held is None else held
            if self._committed.get(tp) != offset:
                offsets[tp] = offset
        return offsets

    async def _send_commit(self, offsets: dict[TopicPartition, int]) -> None:
        consumer = self._consumer
        if consumer is None or not offsets:
            return
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # A rebalance took the partitions: their next owner reads from the last commit
            # and finds the records handled here already stored (duplicates change nothing).
            log.info("offsets not committed (%s); the next owner repeats a batch", exc)
            return
        except KafkaError as exc:
            raise BrokerUnavailable(f"committing offsets failed: {exc}") from exc
        self._committed.update(offsets)

    # --- partitions ---------------------------------------------------------------------

    def _is_home(self, record: SourceRecord, customer_id: str) -> bool:
        return (
            record.topic in self._copartitioned
            and record.key is not None
            and record.key == customer_id.encode()
            and home_partition(customer_id, self._settings.partitions) == record.partition
        )

    def _inputs_of(self, shard: int) -> list[Source]:
        return [(topic, shard) for topic in sorted(self._copartitioned)] + [(self._accepted_topic, shard)]

    def on_assigned(self, assigned: set[TopicPartition]) -> None:
        consumer = self._consumer
        assert consumer is not None
        self._copartitioned = {
            topic
            for topic in self._channel_topics
            if len(consumer.partitions_for_topic(topic) or ()) == self._settings.partitions
        }
        if self._profiles_stored:
            self.ready.set()
        log.info("hot path assigned %d partitions", len(assigned))

    async def on_revoked(self, revoked: set[TopicPartition]) -> None:
        # Wait for the batch in flight, commit what it handled, then forget the shards.
        async with self._batch_lock:
            await self._commit_done()
            await self._commit()
            shards = {tp.partition for tp in revoked}
            self._aligner.forget(shards)
            self._states.forget_shards(shards)
            for tp in revoked:
                self._fetched_until.pop(tp, None)
                self._in_flight.pop(tp, None)
                self._committed.pop(tp, None)
                with contextlib.suppress(KeyError):  # no series yet
                    metrics.CONSUMER_LAG.remove(tp.topic, str(tp.partition))


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, path: HotPath) -> None:
        self._path = path

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._path.on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._path.on_assigned(set(assigned))


def _offset(committed: Any) -> int:
    """A committed offset, 0 when the group has none (an OffsetAndMetadata of -1 too)."""
    return max(0, committed.offset) if committed is not None else 0


def _accepted(message: Any) -> AcceptedRecord:
    """A record of the internal topic, written by ingest or the resolve stage; it keeps
    the position of the channel record it carries, for the history's provenance."""
    headers = dict(message.headers or ())
    customer = headers.get(HEADER_CUSTOMER)
    party = headers.get(HEADER_PARTY)
    source, received_at = read_source(_MessageView(message, headers))
    try:
        event: Interaction | None = parse_interaction(message.value)
    except ValidationError:
        event = None
    return AcceptedRecord(
        value=message.value,
        received_at=received_at,
        topic=source.topic,
        partition=source.partition,
        offset=source.offset,
        shard=message.partition,
        customer_id=customer.decode(errors="replace") if customer else None,
        event=event,
        key=source.key,
        party=party.decode(errors="replace") if party else None,
    )


class _MessageView:
    """What :func:`read_source` reads of a record, from an aiokafka ``ConsumerRecord``."""

    def __init__(self, message: Any, headers: dict[str, bytes]) -> None:
        self.topic, self.partition, self.offset = message.topic, message.partition, message.offset
        self.key, self.value, self.headers = message.key, message.value, headers
        self.timestamp = message.timestamp / 1000
