"""Which triggers left unpublished in the outbox are on their topic all the same.

A worker killed after the broker acknowledged a trigger and before it marked the trigger
published leaves it in the outbox as unpublished; whoever replays the batch would publish
it a second time (the chaos suite saw it about once in five runs). Before republishing,
the trigger's partition is read from shortly before the outbox row was written to its
end: a trigger found there is only marked published. Only replays after a crash pay for
the read, and it covers seconds to minutes of one partition's triggers.
"""

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.partitioner import murmur2

from hub.core.records import OutboxEntry
from hub.errors import BrokerUnavailable

log = logging.getLogger(__name__)

LOOK_BACK = timedelta(seconds=5)
"""Before the outbox row's time: the producer's and the database's clocks may differ."""


class TopicScan:
    """Finds trigger ids on their topics by reading them (a consumer without a group)."""

    def __init__(self, client_options: dict[str, Any], producer: AIOKafkaProducer) -> None:
        self._options = client_options
        self._producer = producer

    async def published(self, entries: Sequence[OutboxEntry]) -> set[str]:
        if not entries:
            return set()
        consumer = AIOKafkaConsumer(**self._options, enable_auto_commit=False)
        try:
            await consumer.start()
            return await self._scan(consumer, entries)
        except KafkaError as exc:
            raise BrokerUnavailable(f"reading the trigger topics before republishing failed: {exc}") from exc
        finally:
            await consumer.stop()

    async def _partition_of(self, entry: OutboxEntry) -> TopicPartition:
        # Where the producer's default partitioner put it: murmur2 of the key, as Java's.
        partitions = sorted(await self._producer.partitions_for(entry.topic))
        key = entry.trigger.customer_id.encode()
        return TopicPartition(entry.topic, partitions[(murmur2(key) & 0x7FFFFFFF) % len(partitions)])

    async def _scan(self, consumer: AIOKafkaConsumer, entries: Sequence[OutboxEntry]) -> set[str]:
        wanted: dict[TopicPartition, set[str]] = defaultdict(set)
        since: dict[TopicPartition, int] = {}
        for entry in entries:
            tp = await self._partition_of(entry)
            wanted[tp].add(entry.trigger.trigger_id)
            recorded = entry.recorded_at
            at = int((recorded - LOOK_BACK).timestamp() * 1000) if recorded is not None else 0
            since[tp] = min(since.get(tp, at), at)
        starts = await consumer.offsets_for_times(since)
        ends = await consumer.end_offsets(list(wanted))
        consumer.assign(list(wanted))
        for tp in wanted:
            start = starts.get(tp)
            consumer.seek(tp, start.offset if start is not None else ends[tp])
        found: set[str] = set()
        while [tp for tp in wanted if await consumer.position(tp) < ends[tp]]:
            for tp, records in (await consumer.getmany(timeout_ms=1000)).items():
                for record in records:
                    if record.offset < ends[tp] and record.value is not None:
                        found |= {t for t in wanted[tp] if t.encode() in record.value}
        if found:
            log.info(
                "%d of %d unpublished triggers were on their topic: not sent again", len(found), len(entries)
            )
        return found
