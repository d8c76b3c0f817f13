"""Event-to-trigger latency: complaints offered at a steady rate, each one a care trigger."""

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.figures import Latency
from schemas import topics


async def measure_latency(bootstrap: str, prefix: str, rate: float, count: int) -> Latency:
    """Offer ``count`` complaints at ``rate``/s; seconds from occurred_at to a consumer's receipt
    of each one's trigger on ``triggers.care``."""
    consumer = AIOKafkaConsumer(
        prefix + topics.TRIGGERS_CARE, bootstrap_servers=bootstrap, auto_offset_reset="latest"
    )
    await consumer.start()
    await consumer.seek_to_end()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=1)
    await producer.start()
    wanted: set[str] = set()
    latencies: list[float] = []

    async def send() -> None:
        interval = 1 / rate
        began = time.perf_counter()
        for n in range(count):
            await asyncio.sleep(max(0.0, began + n * interval - time.perf_counter()))
            event_id = f"lat-{uuid.uuid4()}"
            wanted.add(event_id)
            await producer.send(prefix + topics.INTERACTIONS_PHONE, complaint(event_id), key=b"lat")

    async def receive() -> None:
        deadline = time.monotonic() + count / rate + 60
        while len(latencies) < count and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                now = datetime.now(UTC)
                for record in records:
                    trigger = json.loads(record.value)
                    if trigger["evidence"][0] in wanted:
                        latencies.append(
                            (now - datetime.fromisoformat(trigger["created_at"])).total_seconds()
                        )

    try:
        await asyncio.gather(send(), receive())
    finally:
        await producer.stop()
        await consumer.stop()
    return Latency(rate, count, sorted(latencies))


def complaint(event_id: str) -> bytes:
    return json.dumps(
        {
            "event_id": event_id,
            "schema_version": 1,
            "channel": "phone",
            "type": "complaint",
            "occurred_at": datetime.now(UTC).isoformat(),
            "customer": {"customer_id": f"L{event_id[-6:]}"},
            "source": {"system": "bench"},
            "payload": {"complaint_id": event_id, "category": "service", "severity": "medium"},
        }
    ).encode()
