"""The one place that leans on Faust internals.

A Faust table decides the changelog partition and the local store shard of a write from
the *current* stream event. Batch processing writes one customer's state after the whole
batch, when the current event may belong to another partition, so each write is made in
the context of that customer's own last event.

Its consumer also commits past records nobody handled in two ways, both closed here:
acknowledgements from an earlier generation (:func:`ack_current_generation_only`) and
the holes in its gap check (:func:`commit_only_handled`).
"""

import asyncio
import logging
import weakref
from collections.abc import Callable, Iterator, Mapping, Set
from contextlib import contextmanager
from typing import Any, TypeVar

import faust
from faust.sensors import Sensor
from faust.streams import _current_event
from faust.transport import consumer as faust_consumer
from faust.types import TP, AppT, CollectionT
from faust.types.tuples import Message, ack_lock

from hub.offsets import HandledOffsets

TableT = TypeVar("TableT", bound=CollectionT)

log = logging.getLogger(__name__)


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


_HANDLED: "weakref.WeakKeyDictionary[AppT, HandledOffsets[TP]]" = weakref.WeakKeyDictionary()


class _Deliveries(Sensor):
    """Tells the app's :class:`HandledOffsets` which records its streams took in."""

    def __init__(self, app: faust.App, handled: HandledOffsets[TP]) -> None:
        super().__init__()
        self._app = app
        self._handled = handled
        self._rewinds: set[asyncio.Task[None]] = set()

    def on_message_in(self, tp: TP, offset: int, message: Message) -> None:
        # A record of an earlier generation is skipped by the stream and fetched again.
        if message.generation_id != self._app.consumer_generation_id:
            return
        skipped_from = self._handled.delivered(tp, offset, message.generation_id)
        if skipped_from is not None:
            log.warning(
                "%s[%d]: offset %d came first, records from %d never reached the stream; "
                "fetching them again (the commit waits for them)",
                tp.topic,
                tp.partition,
                offset,
                skipped_from,
            )
            rewind = asyncio.ensure_future(self._rewind(tp, skipped_from))
            self._rewinds.add(rewind)
            rewind.add_done_callback(self._rewinds.discard)

    async def _rewind(self, tp: TP, offset: int) -> None:
        try:
            await self._app.consumer.seek(tp, offset)
        except Exception as error:  # revoked meanwhile: its next owner starts from the commit
            log.warning("%s[%d]: could not seek back to %d (%s)", tp.topic, tp.partition, offset, error)


def commit_only_handled(app: faust.App, contiguous: Callable[[str], bool] = lambda topic: False) -> None:
    """Make ``app`` commit each partition only up to its first record not yet handled.

    Faust commits up to the highest run of acknowledged offsets; its gap check misses a
    gap of one record and does not run while a partition has no committed offset (see
    :mod:`hub.offsets`). Here the commit position comes from the records the app's streams
    took in and acknowledged, whatever Faust's own bookkeeping says. On the topics
    ``contiguous`` names (every offset a record), records Faust skipped after seeking to
    the committed offset hold the commit and are fetched again.
    """
    handled: HandledOffsets[TP] = HandledOffsets(lambda tp: contiguous(tp.topic))
    _HANDLED[app] = handled
    app.sensors.add(_Deliveries(app, handled))
    _patch_consumer_commits()
    _patch_seeks_to_committed()
    _patch_read_offsets()


class _ReadOffsets(dict[TP, int | None]):
    """Faust's per-partition read offsets, which never pass a partition being fetched again.

    Faust drops a fetched record below the partition's read offset as already seen, and its
    fetch loop sets that offset after each record it hands on, also when a seek happened
    meanwhile: the records the seek was for are then dropped again (seen in the probe test
    of a skipped record). While :class:`HandledOffsets` waits for a skipped record, the read
    offset stays at or below it.
    """

    def __init__(self, floor: Callable[[TP], int | None]) -> None:
        super().__init__()
        self._floor = floor

    def __missing__(self, tp: TP) -> None:  # Faust's defaultdict(lambda: None), not stored
        return None

    def __setitem__(self, tp: TP, offset: int | None) -> None:
        floor = self._floor(tp)
        if floor is not None and offset is not None and offset > floor:
            offset = floor
        super().__setitem__(tp, offset)


def _patch_read_offsets() -> None:
    consumer_class = faust_consumer.Consumer
    if getattr(consumer_class, "_hub_read_offsets", False):
        return
    original_init = consumer_class.__init__

    def __init__(self: faust_consumer.Consumer, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        handled = _HANDLED.get(self.app)
        if handled is not None:
            self._read_offset = _ReadOffsets(handled.rewinding_to)

    consumer_class.__init__ = __init__  # type: ignore[method-assign]
    consumer_class._hub_read_offsets = True  # type: ignore[attr-defined]


def _patch_seeks_to_committed() -> None:
    """Tell the app's :class:`HandledOffsets` where each partition's delivery starts after
    Faust seeks to the committed offsets (after every rebalance)."""
    # The worker's consumer delegates to its thread; perform_seek asks it for the offsets.
    delegate_class = faust_consumer.ThreadDelegateConsumer
    if getattr(delegate_class, "_hub_seeks_anchored", False):
        return
    original = delegate_class.seek_to_committed

    async def seek_to_committed(self: faust_consumer.ThreadDelegateConsumer) -> Mapping[TP, int]:
        committed: Mapping[TP, int | None] = await original(self)
        handled = _HANDLED.get(self.app)
        if handled is not None:
            generation = self.app.consumer_generation_id
            starts = {tp: offset for tp, offset in committed.items() if offset is not None and offset >= 0}
            never = [tp for tp, offset in committed.items() if offset is None and handled.is_contiguous(tp)]
            starts.update(await _earliest(self, never))
            for tp, offset in starts.items():
                handled.started(tp, offset, generation)
        return committed  # type: ignore[return-value]  # Faust's annotation leaves out None

    delegate_class.seek_to_committed = seek_to_committed  # type: ignore[method-assign]
    delegate_class._hub_seeks_anchored = True  # type: ignore[attr-defined]


async def _earliest(
    consumer: faust_consumer.ThreadDelegateConsumer, never_committed: list[TP]
) -> Mapping[TP, int]:
    """Where partitions without a committed offset start: the log's start (the reset policy
    is ``earliest``). Without an answer they are not anchored, as before."""
    if not never_committed:
        return {}
    try:
        earliest: Mapping[TP, int] = await consumer.earliest_offsets(*never_committed)
    except Exception as error:  # a broker outage during the rebalance: anchor what is known
        log.warning("could not read where %d partitions start (%s)", len(never_committed), error)
        return {}
    return earliest


def _patch_consumer_commits() -> None:
    consumer_class = faust_consumer.Consumer
    if getattr(consumer_class, "_hub_commits_handled", False):
        return
    original_ack = consumer_class.ack
    original_revoked = consumer_class.on_partitions_revoked

    def ack(self: faust_consumer.Consumer, message: Any) -> bool:
        # Faust answers False for an offset it saw acknowledged before, as when a record
        # fetched again is acknowledged again; that copy was handled all the same.
        first = not message.acked
        acked: bool = original_ack(self, message)
        handled = _HANDLED.get(self.app)
        if first and handled is not None and message.generation_id == self.app.consumer_generation_id:
            handled.handled(message.tp, message.offset)
        return acked

    def new_offset(self: faust_consumer.Consumer, tp: TP) -> int | None:
        handled = _HANDLED.get(self.app)
        if handled is None:
            offset: int | None = original_new_offset(self, tp)
            return offset
        offset = handled.committable(tp, self.app.consumer_generation_id)
        # Faust's lists of acknowledged offsets only shrink in its own _new_offset.
        if offset is not None:
            acked = self._acked[tp]
            done = [o for o in acked if o < offset]
            if done:
                acked[:] = [o for o in acked if o >= offset]
                self._acked_index[tp].difference_update(done)
        return offset

    async def on_partitions_revoked(self: faust_consumer.Consumer, revoked: Set[TP]) -> None:
        handled = _HANDLED.get(self.app)
        if handled is not None:
            for tp in revoked:
                handled.forget(tp)
        await original_revoked(self, revoked)

    original_new_offset = consumer_class._new_offset
    consumer_class.ack = ack  # type: ignore[method-assign]
    consumer_class._new_offset = new_offset  # type: ignore[method-assign]
    consumer_class.on_partitions_revoked = on_partitions_revoked  # type: ignore[method-assign]
    consumer_class._hub_commits_handled = True  # type: ignore[attr-defined]
