"""A stand-in for the bank's marketing services, for the demo and ``hub report``.

It reads the triggers as they are published and reports an outcome for each on
``triggers.outcomes``: delivered, then accepted or declined with fixed odds that a
stable hash of the trigger id decides, so that a rerun reports the same outcomes.
"""

import asyncio
import hashlib
import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer

from hub.kafka_admin import client_options, producer
from hub.settings import Settings
from hub.sink import with_content_type
from schemas import topics
from schemas.trigger import TriggerOutcome

ACCEPT_SHARE = 0.3
DECLINE_SHARE = 0.2


def outcome_for(trigger: dict[str, Any]) -> str | None:
    """accepted, declined, or None (delivered and nothing more), stable per trigger."""
    draw = int.from_bytes(hashlib.sha256(trigger["trigger_id"].encode()).digest()[:4], "big") / 2**32
    if draw < ACCEPT_SHARE:
        return "accepted"
    if draw < ACCEPT_SHARE + DECLINE_SHARE:
        return "declined"
    return None


async def respond(settings: Settings, *, seconds: float, stop: asyncio.Event | None = None) -> Counter[str]:
    """Answer every trigger that arrives within ``seconds`` (or until ``stop`` is set)."""
    consumer = AIOKafkaConsumer(
        settings.topic(topics.TRIGGERS_CROSS_SELL),
        settings.topic(topics.TRIGGERS_CARE),
        **client_options(settings),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    counts: Counter[str] = Counter()
    deadline = time.monotonic() + seconds
    try:
        async with producer(settings) as client:
            while time.monotonic() < deadline and not (stop and stop.is_set()):
                for records in (await consumer.getmany(timeout_ms=300)).values():
                    for record in records:
                        for outcome in _outcomes(json.loads(record.value)):
                            key = outcome.customer_id.encode()
                            await client.send(
                                settings.topic(topics.TRIGGERS_OUTCOMES),
                                outcome.model_dump_json().encode(),
                                key=key,
                                headers=list(with_content_type(None).items()),
                            )
                            counts[outcome.outcome] += 1
            await client.flush()
    finally:
        await consumer.stop()
    return counts


def _outcomes(trigger: dict[str, Any]) -> list[TriggerOutcome]:
    at = datetime.fromisoformat(trigger["not_before"]).astimezone(UTC)
    base = {"trigger_id": trigger["trigger_id"], "customer_id": trigger["customer_id"]}
    answers = [TriggerOutcome(**base, outcome="delivered", at=at + timedelta(minutes=1))]
    final = outcome_for(trigger)
    if final is not None and trigger["kind"] != "care":
        answers.append(TriggerOutcome(**base, outcome=final, at=at + timedelta(hours=2)))
    return answers
