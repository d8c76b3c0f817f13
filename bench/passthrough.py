"""The ceiling: a raw aiokafka consume -> produce loop, batched, no processing."""

import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


async def passthrough(bootstrap: str, source: str, target: str, expect: int, group: str) -> float:
    """Forward ``expect`` records; return the seconds from the first record to the last sent."""
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
    await consumer.start()
    await producer.start()
    forwarded, started = 0, 0.0
    try:
        while forwarded < expect:
            batches = await consumer.getmany(timeout_ms=500, max_records=2000)
            if batches and not started:
                started = time.perf_counter()
            acks = [await producer.send(target, r.value, key=r.key) for rs in batches.values() for r in rs]
            for ack in acks:
                await ack
            forwarded += len(acks)
            await consumer.commit()
        return time.perf_counter() - started
    finally:
        await consumer.stop()
        await producer.stop()
