"""The resolve agent on the internal topic of events named only by channel identifiers,
and the timer that looks waiting events up again."""

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import faust
from faust.exceptions import ConsumerNotStarted
from faust.types import TP, AgentT, StreamT, TopicT

from agents.batching import unacked_batches
from agents.identity import identity_of
from agents.ordered_acks import OrderedAcks
from hub.dead_letter import SourceRecord
from hub.ingest import read_source
from hub.kafka_app import AGENT_SUPERVISOR
from hub.resolve import Resolver, UnresolvedRecord
from hub.runtime import Runtime, finish_before_stopping, retrying
from hub.sink import FaustProducerSink


def register_resolve(
    app: faust.App, runtime: Runtime, unresolved: TopicT, profiles: Callable[[str], bytes | None]
) -> AgentT[bytes]:
    settings = runtime.settings
    resolver = Resolver(settings, FaustProducerSink(app), identity_of(runtime, profiles))
    acks = OrderedAcks()

    async def settle(batch: Sequence[UnresolvedRecord]) -> None:
        try:
            assigned = app.consumer.assignment()
        except ConsumerNotStarted:  # Faust's test context: no consumer, nothing revoked
            assigned = None
        if assigned is not None:
            resolver.forget(lambda topic, partition: TP(topic, partition) in assigned)
            acks.forget(lambda topic, partition: TP(topic, partition) in assigned)
        settled = await finish_before_stopping(
            retrying(partial(resolver.handle, batch), "resolving identifiers")
        )
        await acks.settle([_position_record(record) for record in settled])

    # concurrency stays 1, as for ingest (faust-streaming #606).
    @app.agent(unresolved, name="resolve", concurrency=1, supervisor_strategy=AGENT_SUPERVISOR)
    async def resolve(stream: StreamT[bytes]) -> None:
        async for events in unacked_batches(stream, settings.batch_max, settings.batch_within_ms / 1000):
            records = [_unresolved(event) for event in events]
            for record, event in zip(records, events, strict=True):
                acks.hold(_position_record(record), stream, event)
            await settle(records)

    @app.timer(settings.identity.recheck_seconds, name="identity-recheck")  # type: ignore[untyped-decorator]
    async def recheck_waiting() -> None:
        # A profile may arrive while the waiting records' partitions are quiet.
        if resolver.waiting:
            await settle([])

    return resolve


def _unresolved(event: Any) -> UnresolvedRecord:
    # A record not written by ingest stands for itself; the resolver dead-letters it.
    message = event.message
    return UnresolvedRecord((message.topic, message.partition, message.offset), *read_source(message))


def _position_record(record: UnresolvedRecord) -> SourceRecord:
    """OrderedAcks speaks of the internal topic's positions."""
    topic, partition, offset = record.position
    return SourceRecord(topic, partition, offset, None, None)
