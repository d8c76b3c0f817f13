"""The ingest agent on the four channel topics."""

from collections.abc import Callable, Sequence
from functools import partial

import faust
from faust.types import AgentT, StreamT, TopicT

from agents.batching import ack_all, finish_before_stopping, unacked_batches
from hub.dead_letter import SourceRecord
from hub.ingest import Identity, Ingestor
from hub.kafka_app import AGENT_SUPERVISOR
from hub.profiles import merged_into_of
from hub.runtime import Runtime, retrying
from hub.sink import FaustProducerSink, RecordSink


def identity_of(runtime: Runtime, profiles: Callable[[str], bytes | None]) -> Identity:
    """Identifier lookups in PostgreSQL's index, merges from the profile table."""

    async def owners(keys: Sequence[str]) -> dict[str, str]:
        store = await runtime.store()
        return await store.owners_of(keys)

    return Identity(runtime.settings.require_pii_keyring(), owners, lambda c: merged_into_of(profiles(c)))


def register_ingest(
    app: faust.App,
    runtime: Runtime,
    channels: TopicT,
    profiles: Callable[[str], bytes | None],
    sink: RecordSink | None = None,
) -> AgentT[bytes]:
    """The ingest agent; ``sink`` defaults to the app's producer (tests pass their own)."""
    settings = runtime.settings
    ingestor = Ingestor(settings, sink or FaustProducerSink(app), identity_of(runtime, profiles))

    # concurrency stays 1: with more, Faust can commit past a record still in flight
    # (faust-streaming #606).
    @app.agent(channels, name="ingest", concurrency=1, supervisor_strategy=AGENT_SUPERVISOR)
    async def ingest(stream: StreamT[bytes]) -> None:
        async for events in unacked_batches(stream, settings.batch_max, settings.batch_within_ms / 1000):
            records = [SourceRecord.of(e.message) for e in events]
            await finish_before_stopping(retrying(partial(ingestor.handle, records), "ingesting a batch"))
            await ack_all(stream, events)

    return ingest
