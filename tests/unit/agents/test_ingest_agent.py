"""The ingest agent in Faust's test context: no broker, an in-memory sink."""

import asyncio
import json

from agents.ingest import register_ingest
from hub.kafka_app import create_app, raw_topic
from hub.runtime import Runtime
from hub.settings import Settings
from schemas import topics
from tests.factories import envelope, raw
from tests.unit.identity_harness import MemorySink


async def test_agent_routes_good_records_by_customer_and_dead_letters_bad_ones() -> None:
    settings = Settings(
        kafka_bootstrap="localhost:9092",
        store="memory://",
        topic_prefix="t.",
        batch_within_ms=5,
        pii_key="a test key of some length",
    )
    app = create_app(settings)
    sink = MemorySink()
    # One named topic: Faust's test context labels records with the agent's topic name.
    teller = raw_topic(app, settings.topic(topics.INTERACTIONS_TELLER))
    agent = register_ingest(app, Runtime(settings), teller, lambda customer_id: None, sink)
    good = raw(envelope(event_id="e-1", customer={"customer_id": "C42"}))
    async with agent.test_context() as context:
        await context.put(good, key=b"acct-1")
        await context.put(b"not json", key=b"acct-2")
        for _ in range(100):
            if len(sink.sent) == 2:
                break
            await asyncio.sleep(0.01)
    accepted, rejected = sink.sent
    assert accepted[:3] == (settings.topic(topics.INTERACTIONS_ACCEPTED), b"C42", good)
    assert set(accepted[3]) >= {"hub-received-at", "hub-source-topic", "hub-source-offset"}
    assert rejected[0] == settings.topic(topics.INTERACTIONS_DLQ)
    assert rejected[1] == b"acct-2", "a dead letter keeps the original key"
    assert json.loads(rejected[2])["reason"].startswith("invalid_json: ")
