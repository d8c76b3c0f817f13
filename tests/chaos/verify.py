"""The verdict of a run: what the hub owes (the ledger) against what it did.

- lost: an acknowledged channel record in neither the contact history (by event id) nor
  the dead-letter topic (by its source position, or by its event id after a second hop);
  a trigger in the outbox never published, or published but missing from its topic.
- doubled: a trigger id on a trigger topic more than once; an event id in the history
  more than once (its primary key forbids it; checked all the same).
- conflicting: triggers with different ids for the same rule, customer and causing
  event (a decision that depended on the order records arrived in); a trigger on a topic
  that the outbox does not hold, or two copies of one trigger that differ.
- repeated: a dead letter written again for the same source position (a replay). Not a
  failure: the position in its headers lets a consumer drop the repeats.
"""

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from schemas import topics
from tests.chaos.traffic import Sent, event_id_in

TRIGGER_TOPICS = (topics.TRIGGERS_CROSS_SELL, topics.TRIGGERS_CARE)
INPUT_TOPICS = (
    *topics.CHANNEL_TOPICS.values(),
    topics.INTERACTIONS_ACCEPTED,
    topics.INTERACTIONS_UNRESOLVED,
    topics.CUSTOMERS_PROFILE,
)


@dataclass
class Verdict:
    sent: int
    recorded: int
    dead_letters: int
    triggers: int
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    conflicting: list[str] = field(default_factory=list)
    repeated: int = 0
    behind: int = 0
    """Input records the consumer groups had not committed when the drain ended. Missing
    records count as lost only when this is 0: before, they may simply not be handled yet."""

    @property
    def clean(self) -> bool:
        return not (self.lost or self.doubled or self.conflicting or self.behind)

    def summary(self) -> str:
        missing = f"lost {len(self.lost)}" if not self.behind else f"missing {len(self.lost)}"
        unfinished = f"; NOT CAUGHT UP: {self.behind} input records uncommitted" if self.behind else ""
        return (
            f"sent {self.sent}, recorded {self.recorded}, dead letters {self.dead_letters} "
            f"(repeats {self.repeated}), triggers {self.triggers}: {missing}, "
            f"doubled {len(self.doubled)}, conflicting {len(self.conflicting)}{unfinished}"
        )


@dataclass(frozen=True)
class History:
    """What PostgreSQL holds at the end of a run."""

    recorded: dict[str, float]
    """event id -> recorded_at (epoch seconds)."""
    event_copies: int
    outbox: dict[str, tuple[str, str, str, bool]]
    """trigger id -> (rule id, customer id, causing event id, published)."""


async def read_history(database_url: str) -> History:
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT event_id, extract(epoch FROM recorded_at) AS at FROM interactions"
        )
        copies = await connection.fetchval("SELECT count(*) - count(DISTINCT event_id) FROM interactions")
        triggers = await connection.fetch(
            "SELECT trigger_id, rule_id, customer_id, caused_by, published_at IS NOT NULL AS published "
            "FROM triggers"
        )
    finally:
        await connection.close()
    return History(
        {row["event_id"]: float(row["at"]) for row in rows},
        int(copies),
        {
            row["trigger_id"]: (row["rule_id"], row["customer_id"], row["caused_by"], row["published"])
            for row in triggers
        },
    )


async def read_topic(bootstrap: str, topic: str) -> list[tuple[dict[str, bytes], bytes]]:
    """Every record of ``topic``, from the beginning to the end it has now."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = [TopicPartition(topic, p["partition"]) for t in described for p in t["partitions"] or ()]
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: list[tuple[dict[str, bytes], bytes]] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found.extend((dict(record.headers), record.value or b"") for record in records)
        return found
    finally:
        await consumer.stop()


async def uncommitted(bootstrap: str, prefix: str) -> int:
    """Records of the hub's input topics its two consumer groups have not committed yet."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [prefix + name for name in INPUT_TOPICS]
        described = await admin.describe_topics(names)
        partitions = [
            TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"] or ()
        ]
        committed: dict[TopicPartition, int] = {}
        for group in (prefix + "interaction-hub", prefix + "interaction-hub.hot-path"):
            for tp, meta in (await admin.list_consumer_group_offsets(group)).items():
                if tp in partitions and meta.offset >= 0:
                    committed[tp] = meta.offset
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    return sum(max(0, end - committed.get(tp, 0)) for tp, end in ends.items())


def judge(
    ledger: Iterable[Sent],
    history: History,
    dead_letters: list[tuple[dict[str, bytes], bytes]],
    published: list[tuple[dict[str, bytes], bytes]],
) -> Verdict:
    ledger = list(ledger)
    dead_positions: Counter[tuple[str, int, int]] = Counter()
    dead_event_ids: set[str] = set()
    for _headers, value in dead_letters:
        letter = json.loads(value)
        dead_positions[(letter["topic"], letter["partition"], letter["offset"])] += 1
        dead_event_ids.add(event_id_in(letter.get("raw", "").encode()) or "")
    verdict = Verdict(
        sent=len(ledger),
        recorded=len(history.recorded),
        dead_letters=len(dead_letters),
        triggers=len(history.outbox),
        repeated=sum(count - 1 for count in dead_positions.values()),
    )
    for sent in ledger:
        position = (sent.topic, sent.partition, sent.offset)
        if position in dead_positions:
            continue
        if sent.event_id is not None and (
            sent.event_id in history.recorded or sent.event_id in dead_event_ids
        ):
            continue
        verdict.lost.append(f"record {sent.topic}[{sent.partition}]@{sent.offset} (event {sent.event_id})")
    if history.event_copies:
        verdict.doubled.append(f"{history.event_copies} extra history rows")
    _judge_triggers(verdict, history, published)
    return verdict


def _judge_triggers(
    verdict: Verdict, history: History, published: list[tuple[dict[str, bytes], bytes]]
) -> None:
    copies: dict[str, list[bytes]] = defaultdict(list)
    for _headers, value in published:
        copies[json.loads(value)["trigger_id"]].append(value)
    for trigger_id, bodies in copies.items():
        if len(bodies) > 1:
            verdict.doubled.append(f"trigger {trigger_id} published {len(bodies)} times")
            if len(set(bodies)) > 1:
                verdict.conflicting.append(f"trigger {trigger_id}: copies differ")
        if trigger_id not in history.outbox:
            verdict.conflicting.append(f"trigger {trigger_id} on a topic but not in the outbox")
    moments: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for trigger_id, (rule_id, customer_id, caused_by, was_published) in history.outbox.items():
        moments[(rule_id, customer_id, caused_by)].append(trigger_id)
        if not was_published:
            verdict.lost.append(f"trigger {trigger_id} never published")
        elif trigger_id not in copies:
            verdict.lost.append(f"trigger {trigger_id} marked published, not on its topic")
    for (rule_id, customer_id, caused_by), ids in moments.items():
        if len(ids) > 1:
            verdict.conflicting.append(
                f"{len(ids)} triggers of {rule_id} for {customer_id} caused by {caused_by}"
            )
