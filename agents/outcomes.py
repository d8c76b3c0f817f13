"""The outcome agent: marketing's feedback on triggers into the decision log."""

from datetime import timedelta
from functools import partial
from typing import Any

import faust
from faust.types import StreamT, TopicT

from agents.batching import one_by_one
from hub import metrics
from hub.dead_letter import DeadLetters, SourceRecord
from hub.kafka_app import AGENT_SUPERVISOR
from hub.runtime import Runtime, retrying
from hub.sink import FaustProducerSink
from hub.storage.history import HistoryStore
from schemas import topics
from schemas.trigger import TriggerOutcome


def register_outcomes(app: faust.App, runtime: Runtime, outcomes_topic: TopicT) -> None:
    settings = runtime.settings
    dead_letters = DeadLetters(FaustProducerSink(app), settings.topic(topics.INTERACTIONS_DLQ))
    declined_for = timedelta(days=settings.policy.declined_days)

    @app.agent(outcomes_topic, name="outcomes", concurrency=1, supervisor_strategy=AGENT_SUPERVISOR)
    async def outcomes(stream: StreamT[bytes]) -> None:
        store = await runtime.store()
        within_s = settings.batch_within_ms / 1000
        await one_by_one(
            stream, partial(store_outcome, store=store), max_=settings.batch_max, within_s=within_s
        )

    async def store_outcome(event: Any, store: HistoryStore) -> None:
        record = SourceRecord.of(event.message)
        outcome = await dead_letters.validate(TriggerOutcome, record, category="outcome_schema")
        if outcome is None:
            return
        record_it = partial(store.record_outcome, outcome, declined_for=declined_for)
        await retrying(record_it, "storing an outcome")
        metrics.OUTCOMES.labels(outcome.outcome).inc()
