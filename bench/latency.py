"""Event-to-trigger latency under representative live load.

The simulated traffic is offered at a steady rate with its event times set to the moment
each record is sent (live traffic, not a backlog), and every ``PROBE_EVERY``-th record
is instead a complaint, whose care trigger is timed from its ``occurred_at`` to the
moment a consumer of ``triggers.care`` receives it. Probes alternate between the two
ways channel systems key their records: by the customer id, decided on the partition it
arrives on, and by something else (a channel system's own identifier), which takes a
second hop through the internal topic first.
"""

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.figures import Latency
from hub.simulate import Record
from schemas import topics

PROBE_EVERY = 10
SEND_TICK_S = 0.005
"""Records due in the same 5 ms go out together, as a channel system's producer sends them."""


@dataclass(frozen=True, slots=True)
class Latencies:
    keyed_by_customer: Latency
    rekeyed: Latency


async def measure_latency(
    bootstrap: str, prefix: str, rate: float, probes: int, background: list[Record]
) -> Latencies:
    """Offer ``background`` (live-timed) and ``probes`` complaints among it at ``rate``/s in all."""
    total = probes * PROBE_EVERY
    if len(background) < total - probes:
        raise ValueError(f"{total - probes} background events needed, {len(background)} given")
    consumer = AIOKafkaConsumer(
        prefix + topics.TRIGGERS_CARE, bootstrap_servers=bootstrap, auto_offset_reset="latest"
    )
    await consumer.start()
    await consumer.seek_to_end()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=1)
    await producer.start()
    keyed: dict[str, bool] = {}
    received: dict[bool, list[float]] = {True: [], False: []}

    async def send() -> None:
        began = time.perf_counter()
        others = iter(background)
        for n in range(total):
            await asyncio.sleep(max(0.0, began + n / rate - time.perf_counter() - SEND_TICK_S))
            if n % PROBE_EVERY:
                record = next(others)
                await producer.send(prefix + record.topic, live(record.value), key=record.key)
                continue
            event_id = f"lat-{uuid.uuid4()}"
            by_customer = (n // PROBE_EVERY) % 2 == 0
            keyed[event_id] = by_customer
            key = customer_of(event_id).encode() if by_customer else b"call-centre"
            await producer.send(prefix + topics.INTERACTIONS_PHONE, complaint(event_id), key=key)

    async def receive() -> None:
        deadline = time.monotonic() + total / rate + 60
        while sum(map(len, received.values())) < probes and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                now = datetime.now(UTC)
                for record in records:
                    trigger = json.loads(record.value)
                    by_customer = keyed.get(trigger["evidence"][0])
                    if by_customer is not None:
                        created = datetime.fromisoformat(trigger["created_at"])
                        received[by_customer].append((now - created).total_seconds())

    try:
        await asyncio.gather(send(), receive())
    finally:
        await producer.stop()
        await consumer.stop()
    offered = {flag: sum(1 for v in keyed.values() if v is flag) for flag in (True, False)}
    return Latencies(*(Latency(rate, offered[flag], sorted(received[flag])) for flag in (True, False)))


def live(value: bytes) -> bytes:
    """The event as if it had just happened."""
    event = json.loads(value)
    event["occurred_at"] = datetime.now(UTC).isoformat()
    return json.dumps(event).encode()


def complaint(event_id: str) -> bytes:
    return json.dumps(
        {
            "event_id": event_id,
            "schema_version": 1,
            "channel": "phone",
            "type": "complaint",
            "occurred_at": datetime.now(UTC).isoformat(),
            "customer": {"customer_id": customer_of(event_id)},
            "source": {"system": "bench"},
            "payload": {"complaint_id": event_id, "category": "service", "severity": "medium"},
        }
    ).encode()


def customer_of(event_id: str) -> str:
    return f"L{event_id[-6:]}"
