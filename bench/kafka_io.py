"""Plain Kafka clients of the bench: fresh topics, publishing, and watching a topic fill."""

import asyncio
import time
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.kafka_counts import Offsets, end_offsets


async def create_topics(bootstrap: str, names: list[str], partitions: int, timeout_s: float = 15) -> None:
    """Create the topics and wait until every partition has a leader, so that the first
    clients do not start on metadata without one."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if _all_led(await admin.describe_topics(names)):
                return
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


def _all_led(described: list[dict[str, Any]]) -> bool:
    return all(
        t["error_code"] == 0 and t["partitions"] and all(p["leader"] >= 0 for p in t["partitions"])
        for t in described
    )


async def publish(bootstrap: str, records: Iterable[tuple[str, bytes | None, bytes]]) -> int:
    """Send ``(topic, key, value)`` records as fast as the broker takes them; return the count."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=10, max_batch_size=256 * 1024)
    await producer.start()
    sent = 0
    try:
        for topic, key, value in records:
            await producer.send(topic, value, key=key)
            sent += 1
        await producer.flush()
    finally:
        await producer.stop()
    return sent


class Arrivals:
    """Records arriving on one topic, read from its beginning without a consumer group."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")

    async def __aenter__(self) -> "Arrivals":
        await self._consumer.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self._consumer.stop()

    async def take(self, expect: int, timeout_s: float = 600) -> float:
        """Wait for ``expect`` more records; seconds from the first of them to the last."""
        seen, first = 0, 0.0
        deadline = time.monotonic() + timeout_s
        while seen < expect and time.monotonic() < deadline:
            for records in (await self._consumer.getmany(timeout_ms=200, max_records=5000)).values():
                if not first:
                    first = time.perf_counter()
                seen += len(records)
        if seen < expect:
            raise RuntimeError(f"only {seen} of {expect} records arrived")
        return time.perf_counter() - first


async def committed(bootstrap: str, group: str, names: list[str], timeout_s: float = 600) -> None:
    """Wait until ``group`` has committed every record on the topics ``names``, as far as
    each has grown at that moment: whichever of its workers consumed them, and however
    often a rebalance made one consume them again. Faust commits every few seconds."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        described = await admin.describe_topics(names)
        partitions = [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]
        deadline = time.monotonic() + timeout_s
        behind: list[TopicPartition] = []
        while time.monotonic() < deadline:
            ends = await consumer.end_offsets(partitions)
            offsets = await admin.list_consumer_group_offsets(group, partitions=partitions)
            behind = [tp for tp, end in ends.items() if end > 0 and offsets[tp].offset < end]
            if not behind:
                return
            await asyncio.sleep(1.0)
        raise RuntimeError(f"{group} did not commit {sorted(map(str, behind))} within {timeout_s}s")
    finally:
        await consumer.stop()
        await admin.close()


async def settled_offsets(bootstrap: str, prefix: str, quiet_s: float = 1.0, max_s: float = 15.0) -> Offsets:
    """End offsets of the run's topics once they have not moved for ``quiet_s``: what a
    worker still had in its producer's buffer when the last event was recorded counts."""
    deadline = time.monotonic() + max_s
    previous = await end_offsets(bootstrap, prefix)
    while time.monotonic() < deadline:
        await asyncio.sleep(quiet_s)
        current = await end_offsets(bootstrap, prefix)
        if current == previous:
            return current
        previous = current
    return previous
