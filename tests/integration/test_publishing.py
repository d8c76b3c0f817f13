"""A batch whose triggers the broker acknowledged only in part publishes the rest on its
retry, and nothing twice (a chaos run saw the broker killed halfway through a batch)."""

import asyncio
import json
import uuid
from collections.abc import Awaitable, Mapping
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from hub.core.records import AcceptedRecord
from hub.errors import BrokerUnavailable
from hub.hot_path import AiokafkaSink
from hub.kafka_admin import ensure_topics
from hub.kafka_app import client_options
from hub.published import TopicScan
from hub.recorder import HistoryRecorder
from hub.rules.book import RuleBook
from hub.settings import Settings
from hub.storage.customer_state import StateCache
from hub.storage.history import HistoryStore
from schemas import topics
from schemas.interaction import INTERACTION_ADAPTER
from tests.factories import envelope


class HalfwayBroker:
    """Acknowledges the first trigger of the first attempt, loses the others' acks."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.broken = True

    async def send(
        self, topic: str, key: bytes | None, value: bytes, headers: Mapping[str, bytes] | None = None
    ) -> Awaitable[Any]:
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if topic.endswith(topics.TRIGGERS_CARE) and self.broken and self.sent:
            ack.set_exception(BrokerUnavailable("the broker went away"))
        else:
            ack.set_result(None)
        if topic.endswith(topics.TRIGGERS_CARE):
            self.sent.append(json.loads(value)["trigger_id"])
        return ack


def complaint(run: str, n: int) -> AcceptedRecord:
    event = envelope(
        "phone",
        "complaint",
        event_id=f"{run}-c{n}",
        customer={"customer_id": f"{run}-K{n}"},
        payload={"complaint_id": f"{run}-CMP-{n}"},
    )
    value = json.dumps(event).encode()
    return AcceptedRecord(
        value=value,
        received_at=datetime.now(UTC),
        topic=f"{run}.{topics.INTERACTIONS_PHONE}",
        partition=0,
        offset=n,
        customer_id=event["customer"]["customer_id"],
        event=INTERACTION_ADAPTER.validate_json(value),
    )


async def test_the_retry_of_a_batch_publishes_only_what_the_broker_did_not_acknowledge() -> None:
    run = f"pub-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        topic_prefix=f"{run}.", pii_key="a test key of some length", policy={"control_share": 0}
    )
    store = await HistoryStore.open(settings.require_database_url(), pool_size=2)
    broker = HalfwayBroker()
    rules = RuleBook(None)
    recorder = HistoryRecorder(settings, store, broker, StateCache(1000), lambda _: None, lambda: rules.rules)
    batch = [complaint(run, n) for n in range(3)]
    try:
        try:
            await recorder.handle(batch)
            raise AssertionError("the lost acknowledgements fail the batch")
        except BrokerUnavailable:
            pass
        _acknowledged, *lost = broker.sent
        assert len(lost) == 2, broker.sent
        broker.broken = False
        await recorder.handle(batch)  # the retry
        again = sorted(broker.sent[3:])
        assert again == sorted(lost), "only the unacknowledged triggers again, not the acknowledged one"
        await recorder.handle(batch)  # and a replay publishes nothing
        assert len(broker.sent) == 5
    finally:
        await store.close()


class CrashBeforeMarking(Exception):
    """Stands for a worker killed between the broker's acknowledgement and the mark."""


async def test_a_trigger_on_its_topic_but_unmarked_is_not_published_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = f"pub-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        topic_prefix=f"{run}.", pii_key="a test key of some length", policy={"control_share": 0}
    )
    await ensure_topics(settings)
    store = await HistoryStore.open(settings.require_database_url(), pool_size=2)
    producer = AIOKafkaProducer(**client_options(settings), acks="all", enable_idempotence=True)
    await producer.start()
    rules = RuleBook(None)
    batch = [complaint(run, n) for n in range(3)]

    def recorder() -> HistoryRecorder:
        return HistoryRecorder(
            settings,
            store,
            AiokafkaSink(producer),
            StateCache(1000),
            lambda _: None,
            lambda: rules.rules,
            published=TopicScan(client_options(settings), producer),
        )

    async def killed(ids: list[str]) -> None:
        raise CrashBeforeMarking

    try:
        with monkeypatch.context() as patched:
            patched.setattr(store, "mark_published", killed)
            with pytest.raises(CrashBeforeMarking):
                await recorder().handle(batch)  # published, never marked
        await recorder().handle(batch)  # the next owner replays the batch
        care = await read_all(settings, settings.topic(topics.TRIGGERS_CARE))
        ids = [json.loads(value)["trigger_id"] for value in care]
        assert len(ids) == 3 and len(set(ids)) == 3, "each trigger on its topic once"
        connection = await asyncpg.connect(settings.require_database_url())
        try:
            unmarked = await connection.fetchval(
                "SELECT count(*) FROM triggers WHERE trigger_id = ANY($1) AND published_at IS NULL", ids
            )
        finally:
            await connection.close()
        assert unmarked == 0, "found on the topic, so marked published"
    finally:
        await producer.stop()
        await store.close()


async def read_all(settings: Settings, topic: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic, **client_options(settings), auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    found: list[bytes] = []
    try:
        for _ in range(10):
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found += [r.value for r in records if r.value is not None]
    finally:
        await consumer.stop()
    return found
