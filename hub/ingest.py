"""Ingest: validate channel records, dead-letter the bad ones, re-key the good by customer.

Accepted records keep their original bytes; where they came from travels in headers, so
the history stage validates each event once more without re-encoding it.
"""

import asyncio
from collections.abc import Awaitable, Sequence
from datetime import datetime, timedelta
from typing import Any

from hub import metrics
from hub.clock import Clock, utc_now
from hub.core.validation import Rejection, decode_interaction
from hub.dead_letter import SourceRecord, dead_letter
from hub.settings import Settings
from hub.sink import RecordSink
from schemas import topics

HEADER_RECEIVED_AT = "hub-received-at"
HEADER_TOPIC = "hub-source-topic"
HEADER_PARTITION = "hub-source-partition"
HEADER_OFFSET = "hub-source-offset"


class Ingestor:
    def __init__(self, settings: Settings, sink: RecordSink, clock: Clock = utc_now) -> None:
        self._sink = sink
        self._clock = clock
        self._tolerance = timedelta(hours=settings.future_tolerance_hours)
        self._channel_of = {settings.topic(t): ch for ch, t in topics.CHANNEL_TOPICS.items()}
        self._accepted_topic = settings.topic(topics.INTERACTIONS_ACCEPTED)
        self._dlq_topic = settings.topic(topics.INTERACTIONS_DLQ)

    async def handle(self, records: Sequence[SourceRecord]) -> None:
        """Route every record; returns once the broker acknowledged every output."""
        now = self._clock()
        acks: list[Awaitable[Any]] = []
        for record in records:
            outcome = decode_interaction(
                record.value,
                topic_channel=self._channel_of[record.topic],
                now=now,
                future_tolerance=self._tolerance,
            )
            if isinstance(outcome, Rejection):
                acks.append(await self._dead_letter(record, outcome, now))
                continue
            customer_id = outcome.customer.customer_id
            assert customer_id is not None
            metrics.EVENTS_CONSUMED.labels(outcome.channel, outcome.type).inc()
            headers = {
                HEADER_RECEIVED_AT: now.isoformat().encode(),
                HEADER_TOPIC: record.topic.encode(),
                HEADER_PARTITION: str(record.partition).encode(),
                HEADER_OFFSET: str(record.offset).encode(),
            }
            assert record.value is not None
            acks.append(
                await self._sink.send(self._accepted_topic, customer_id.encode(), record.value, headers)
            )
        await asyncio.gather(*acks)

    async def _dead_letter(self, record: SourceRecord, rejection: Rejection, now: datetime) -> Awaitable[Any]:
        return await dead_letter(
            self._sink, self._dlq_topic, record, category=rejection.category, reason=rejection.reason, now=now
        )
