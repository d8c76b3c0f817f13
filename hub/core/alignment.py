"""Event-time order across input partitions, in the spirit of Kafka Streams' task idling.

A customer's events reach the worker through several partitions: the same partition
number of each channel topic keyed by customer id, and of the internal topic that
carries re-keyed events. Arrival order across them is no order at all: a backlog read
after an outage may deliver a whole teller partition before the phone partition that
holds an earlier complaint. The aligner holds records per input partition, sorted by
event time, and releases, per shard (partition number), the earliest head first, but
only once every other input partition of the shard either holds a record, has already
delivered one at least as late, cannot bring an earlier one as far as the caller knows
(caught up at the last fetch, so a quiet topic costs no latency, as KIP-695 has it, and
no record sent to it earlier is still on its way), or the head has waited ``window_s``
of real time.

A record that arrives after a later one of its shard was released is *late*: it is
still decided and recorded (its history entry takes its event-time place), but what was
decided before it is not decided again (see the README's "Late events").

Pure: no Kafka here. The caller says which partitions are caught up and what time it is.
"""

import bisect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

T = TypeVar("T")
Source = tuple[str, int]
"""An input partition: (topic, partition)."""
Pending = Callable[[Source, datetime], bool]
"""``pending(source, at)``: may ``source`` still bring a record earlier than ``at``, as far
as the caller knows (it was behind the broker at the last fetch, or a record of such an
event time is on its way to it)."""


@dataclass(order=True, slots=True)
class _Held(Generic[T]):
    at: datetime
    offset: int
    arrived: float = field(compare=False)
    item: T = field(compare=False)


@dataclass(slots=True)
class _Shard(Generic[T]):
    queues: dict[Source, list[_Held[T]]] = field(default_factory=dict)
    seen_until: dict[Source, datetime] = field(default_factory=dict)
    """The latest event time each input has delivered."""
    released_until: datetime | None = None


class Aligner(Generic[T]):
    def __init__(self, window_s: float, inputs_of: Callable[[int], Iterable[Source]]) -> None:
        """``inputs_of(shard)``: every input partition that feeds ``shard``."""
        self._window_s = window_s
        self._inputs_of = inputs_of
        self._shards: dict[int, _Shard[T]] = {}

    def add(self, source: Source, shard: int, item: T, at: datetime, offset: int, now: float) -> bool:
        """Hold ``item`` (its event time ``at``, its ``offset`` in ``source``); True if late."""
        self.passed(source, shard, at)
        state = self._shards[shard]
        bisect.insort(state.queues.setdefault(source, []), _Held(at, offset, now, item))
        return state.released_until is not None and at < state.released_until

    def passed(self, source: Source, shard: int, at: datetime) -> None:
        """``source`` delivered a record of event time ``at`` that is decided elsewhere (sent
        on to be re-keyed): the partition has moved on as far as waiting for it goes, like a
        partition whose records are held here. Without this, a channel partition whose
        records all take a second hop would hold its shard for the whole window."""
        state = self._shards.get(shard)
        if state is None:  # not setdefault: that would build a shard (two dicts) per record
            state = self._shards[shard] = _Shard()
        seen = state.seen_until.get(source)
        state.seen_until[source] = at if seen is None or at > seen else seen

    def release(self, now: float, pending: Pending) -> list[T]:
        """What may be decided now, in event-time order per shard."""
        released: list[T] = []
        for shard, state in self._shards.items():
            released += self._release_shard(shard, state, now, pending)
        return released

    def _release_shard(self, shard: int, state: _Shard[T], now: float, pending: Pending) -> list[T]:
        out: list[T] = []
        inputs = list(self._inputs_of(shard))
        while True:
            heads = {source: queue[0] for source, queue in state.queues.items() if queue}
            if not heads:
                return out
            source, head = min(heads.items(), key=lambda pair: pair[1])
            if now - head.arrived < self._window_s and any(
                self._may_still_bring_earlier(state, other, head.at, pending)
                for other in inputs
                if other not in heads
            ):
                return out
            state.queues[source].pop(0)
            if state.released_until is None or head.at > state.released_until:
                state.released_until = head.at
            out.append(head.item)

    @staticmethod
    def _may_still_bring_earlier(state: _Shard[T], other: Source, at: datetime, pending: Pending) -> bool:
        seen = state.seen_until.get(other)
        return not (seen is not None and seen >= at) and pending(other, at)

    def first_held_offset(self, source: Source, shard: int) -> int | None:
        """The lowest offset of ``source`` still held: commits must stop short of it."""
        state = self._shards.get(shard)
        queue = state.queues.get(source) if state is not None else None
        return min((held.offset for held in queue), default=None) if queue else None

    def waiting(self) -> int:
        return sum(len(q) for state in self._shards.values() for q in state.queues.values())

    def forget(self, shards: Sequence[int] | set[int]) -> None:
        """Partitions revoked: their held records are fetched again by the next owner."""
        for shard in shards:
            self._shards.pop(shard, None)
