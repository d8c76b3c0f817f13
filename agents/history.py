"""The history agent on the internal topic keyed by customer_id."""

from collections.abc import Callable
from functools import partial
from typing import Any

import faust
from faust.types import StreamT, TableT, TopicT

from agents.batching import ack_all, finish_before_stopping, unacked_batches
from hub import ingest
from hub.faust_compat import as_current_event, use_raw_bytes
from hub.kafka_app import AGENT_SUPERVISOR
from hub.recorder import AcceptedRecord, HistoryRecorder
from hub.rules.book import RuleBook
from hub.runtime import Runtime, retrying
from hub.sink import FaustProducerSink


class FaustStateTable:
    """The recorder's state table on a Faust table, written in each customer's event context."""

    def __init__(self, table: TableT[bytes, bytes]) -> None:
        self._table = table

    def get(self, customer_id: str) -> bytes | None:
        value: bytes | None = self._table.get(customer_id.encode())
        return value

    def put(self, customer_id: str, value: bytes, origin: Any) -> None:
        with as_current_event(origin):
            self._table[customer_id.encode()] = value


def register_history(
    app: faust.App,
    runtime: Runtime,
    accepted: TopicT,
    profiles: Callable[[str], bytes | None],
    rulebook: RuleBook,
) -> TableT[bytes, bytes]:
    settings = runtime.settings
    table = use_raw_bytes(
        app.Table("customer-state", partitions=settings.partitions, key_type=bytes, value_type=bytes)
    )
    states = FaustStateTable(table)

    @app.agent(accepted, name="history", concurrency=1, supervisor_strategy=AGENT_SUPERVISOR)
    async def history(stream: StreamT[bytes]) -> None:
        store = await runtime.store()
        recorder = HistoryRecorder(
            settings, store, FaustProducerSink(app), states, profiles, lambda: rulebook.rules
        )
        async for events in unacked_batches(stream, settings.batch_max, settings.batch_within_ms / 1000):
            batch = [_accepted(e) for e in events]
            await finish_before_stopping(retrying(partial(recorder.handle, batch), "recording a batch"))
            await ack_all(stream, events)

    return table


def _accepted(event: Any) -> AcceptedRecord:
    message = event.message
    customer = dict(message.headers or {}).get(ingest.HEADER_CUSTOMER)
    # Only ingest writes this topic; a foreign record's odd headers must not stop the
    # agent: it is dead-lettered from where it is.
    source, received_at = ingest.read_source(message)
    return AcceptedRecord(
        value=message.value,
        received_at=received_at,
        topic=source.topic,
        partition=source.partition,
        offset=source.offset,
        shard=message.partition,
        origin=event,
        customer_id=customer.decode(errors="replace") if customer else None,
    )
