"""The ingest agent on the four channel topics, and the timer that re-checks waiting events."""

from collections.abc import Callable, Sequence
from functools import partial

import faust
from faust.exceptions import ConsumerNotStarted
from faust.types import TP, AgentT, StreamT, TopicT

from agents.batching import finish_before_stopping, unacked_batches
from agents.ordered_acks import OrderedAcks
from hub.dead_letter import SourceRecord
from hub.ingest import Identity, Ingestor
from hub.kafka_app import AGENT_SUPERVISOR
from hub.profiles import merged_into_of
from hub.runtime import Runtime, retrying
from hub.sink import FaustProducerSink, RecordSink


def register_ingest(
    app: faust.App,
    runtime: Runtime,
    channels: TopicT,
    profiles: Callable[[str], bytes | None],
    sink: RecordSink | None = None,
) -> AgentT[bytes]:
    """The ingest agent; ``sink`` defaults to the app's producer (tests pass their own)."""
    settings = runtime.settings

    async def owners(keys: Sequence[str]) -> dict[str, str]:
        store = await runtime.store()
        return await store.owners_of(keys)

    identity = Identity(settings.require_pii_keyring(), owners, lambda c: merged_into_of(profiles(c)))
    ingestor = Ingestor(settings, sink or FaustProducerSink(app), identity)
    acks = OrderedAcks()

    async def settle(batch: Sequence[SourceRecord]) -> None:
        try:
            assigned = app.consumer.assignment()
        except ConsumerNotStarted:  # Faust's test context: no consumer, nothing revoked
            assigned = None
        if assigned is not None:
            ingestor.forget(lambda topic, partition: TP(topic, partition) in assigned)
            acks.forget(lambda topic, partition: TP(topic, partition) in assigned)
        settled = await finish_before_stopping(retrying(partial(ingestor.handle, batch), "ingesting a batch"))
        await acks.settle(settled)

    # concurrency stays 1: with more, Faust can commit past a record still in flight
    # (faust-streaming #606).
    @app.agent(channels, name="ingest", concurrency=1, supervisor_strategy=AGENT_SUPERVISOR)
    async def ingest(stream: StreamT[bytes]) -> None:
        async for events in unacked_batches(stream, settings.batch_max, settings.batch_within_ms / 1000):
            records = [SourceRecord.of(e.message) for e in events]
            for record, event in zip(records, events, strict=True):
                acks.hold(record, stream, event)
            await settle(records)

    @app.timer(settings.identity.recheck_seconds, name="identity-recheck")  # type: ignore[untyped-decorator]
    async def recheck_waiting() -> None:
        # A profile may arrive while the waiting records' partitions are quiet.
        if ingestor.waiting:
            await settle([])

    return ingest
