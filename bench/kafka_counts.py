"""How many Kafka records a run wrote: end offsets of its topics before and after a window.

Every topic of a hub run carries the run's topic prefix, the contract topics as well as
Faust's internal ones (the app id is the prefix plus ``interaction-hub``), so listing the
broker's topics and keeping those with the prefix finds them all. The consumer group's
offset commits (``__consumer_offsets``) are not counted.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from schemas import topics

TRIGGER_TOPICS = (topics.TRIGGERS_CARE, topics.TRIGGERS_CROSS_SELL)

Offsets = dict[str, int]
"""Topic -> sum of the end offsets of its partitions (records ever written, with no
transactions in use)."""


async def end_offsets(bootstrap: str, prefix: str) -> Offsets:
    """The summed end offsets of every topic whose name starts with ``prefix``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = sorted(n for n in await admin.list_topics() if n.startswith(prefix))
        described = await admin.describe_topics(names) if names else []
    finally:
        await admin.close()
    partitions = [
        TopicPartition(t["topic"], p["partition"])
        for t in described
        for p in t["partitions"]
        if t["partitions"]
    ]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions) if partitions else {}
    finally:
        await consumer.stop()
    offsets = dict.fromkeys(names, 0)
    for partition, end in ends.items():
        offsets[partition.topic] += end
    return offsets


@dataclass(frozen=True, slots=True)
class RecordCounts:
    """Records written in a window per input event, all topics and the triggers alone."""

    per_event: float
    triggers_per_event: float
    by_topic: dict[str, float]
    """Topic (without the run's prefix) -> records written per input event."""

    @property
    def without_triggers(self) -> float:
        return self.per_event - self.triggers_per_event


def records_per_event(
    before: Mapping[str, int], after: Mapping[str, int], prefix: str, inputs: Mapping[str, int], events: int
) -> RecordCounts:
    """Records the run wrote between two snapshots, less the ``inputs`` it published
    itself (topic -> records, without the prefix), per input event."""
    written: dict[str, int] = {}
    for name, end in after.items():
        short = name.removeprefix(prefix)
        count = end - before.get(name, 0) - inputs.get(short, 0)
        if count:
            written[short] = count
    triggers = sum(written.get(t, 0) for t in TRIGGER_TOPICS)
    return RecordCounts(
        per_event=sum(written.values()) / events,
        triggers_per_event=triggers / events,
        by_topic={name: count / events for name, count in sorted(written.items(), key=lambda kv: -kv[1])},
    )
