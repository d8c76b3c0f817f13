"""The one place that leans on Faust internals.

A Faust table decides the changelog partition and the local store shard of a write from
the *current* stream event. Batch processing writes one customer's state after the whole
batch, when the current event may belong to another partition, so each write is made in
the context of that customer's own last event.
"""

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from faust.streams import _current_event
from faust.transport import consumer as faust_consumer
from faust.types import CollectionT
from faust.types.tuples import ack_lock

TableT = TypeVar("TableT", bound=CollectionT)


@contextmanager
def as_current_event(event: Any) -> Iterator[None]:
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


def use_raw_bytes(table: TableT) -> TableT:
    """Make ``table`` store values as the bytes it is given.

    Faust derives a table's serializer from its value type and picks JSON for ``bytes``,
    which would decode our JSON documents into dicts on the way back. The store and the
    changelog read these attributes when they are created, at worker start.
    """
    table.key_serializer = "raw"  # type: ignore[attr-defined]
    table.value_serializer = "raw"  # type: ignore[attr-defined]
    return table


def ack_current_generation_only() -> None:
    """Make the consumer ignore acknowledgements of records fetched before a rebalance.

    Records fetched under an earlier consumer generation are still in flight when the
    partitions are revoked and assigned again: Faust itself acknowledges those it skips,
    and a batch that finishes after the rebalance acknowledges its own. Those offsets then
    count as done in the new generation, and as Faust's gap check does not apply while a
    partition has no committed offset yet (and misses a gap of one), the commit can move
    past records nobody processed. Ignored instead, they are simply fetched again from the
    committed offset and recognised as duplicates. Seen here as lost events when a worker
    left its group mid-stream (tests/integration/test_rebalance.py).
    """
    original = faust_consumer.Consumer.ack
    if getattr(original, "_hub_generation_guard", False):
        return

    def ack(self: faust_consumer.Consumer, message: Any) -> bool:
        if message.generation_id != self.app.consumer_generation_id:
            with ack_lock:
                message.acked = True
                self._unacked_messages.discard(message)
            return False
        acked: bool = original(self, message)
        return acked

    ack._hub_generation_guard = True  # type: ignore[attr-defined]
    faust_consumer.Consumer.ack = ack  # type: ignore[method-assign]
