"""The ingest agent on the four channel topics."""

from functools import partial

import faust
from faust.types import AgentT, StreamT, TopicT

from agents.batching import ack_all, finish_before_stopping, unacked_batches
from hub.dead_letter import SourceRecord
from hub.ingest import Ingestor
from hub.kafka_app import AGENT_SUPERVISOR
from hub.runtime import Runtime, retrying
from hub.sink import FaustProducerSink, RecordSink


def register_ingest(
    app: faust.App, runtime: Runtime, channels: TopicT, sink: RecordSink | None = None
) -> AgentT[bytes]:
    """The ingest agent; ``sink`` defaults to the app's producer (tests pass their own)."""
    settings = runtime.settings
    ingestor = Ingestor(settings, sink or FaustProducerSink(app))

    # concurrency stays 1: with more, Faust can commit past a record still in flight
    # (faust-streaming #606).
    @app.agent(channels, name="ingest", concurrency=1, supervisor_strategy=AGENT_SUPERVISOR)
    async def ingest(stream: StreamT[bytes]) -> None:
        async for events in unacked_batches(stream, settings.batch_max, settings.batch_within_ms / 1000):
            records = [SourceRecord.of(e.message) for e in events]
            await finish_before_stopping(retrying(partial(ingestor.handle, records), "ingesting a batch"))
            await ack_all(stream, events)

    return ingest
