"""Which offset of a partition may be committed: the first record not yet handled.

A consumer's commit says "everything before this offset is done". Kafka clients and
Faust work it out from the offsets acknowledged so far, and Faust's way has two holes:
its gap check misses a gap of a single record (it asks for a difference of more than
one from the committed offset) and is skipped while a partition has no committed offset
yet. A record still being handled, or waiting, behind acknowledged ones could then be
committed past and lost on a restart (seen once in four fault-injection runs).

This bookkeeping knows nothing of Faust: per partition, the offsets delivered to the
application in order, and which of them were handled. The commit position is the first
delivered offset not yet handled or, when all are, the one after the last delivered.

On a partition whose offsets are known to be contiguous (a topic the hub writes itself,
without transactions or compaction), the bookkeeping also knows where delivery must
start: the committed offset the consumer was positioned at. A first delivery past it
means the records in between never reached the application (seen in the chaos suite:
after a rebalance Faust's first record on a partition was one past the committed
offset, which was then committed past); they hold the commit, and the caller is told
to fetch them again from there.
"""

from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

P = TypeVar("P", bound=Hashable)


@dataclass(slots=True)
class _Partition:
    generation: int | None
    waiting: deque[int] = field(default_factory=deque)
    """Delivered offsets, in delivery order, not yet known to be contiguously handled."""
    handled: set[int] = field(default_factory=set)
    """Offsets in ``waiting`` that were handled out of order."""
    next_offset: int = 0
    """One past the last delivered offset (the anchor, before the first delivery)."""
    rewinding: bool = False
    """Records from ``next_offset`` on were skipped and asked for again; deliveries past it
    (fetched before the rewind) are not counted until ``next_offset`` itself comes."""


class HandledOffsets(Generic[P]):
    """Per partition ``P`` and consumer-group generation: the offset up to which every
    delivered record was handled.

    The generation matters: between the revocation of a partition and its assignment
    again, records fetched before still reach the application under the old generation.
    Counted as the start of the partition, they made the records it then delivered again
    from the committed offset look like repeats, and a commit could pass records still
    waiting to be handled (seen as lost events in the chaos suite).
    """

    def __init__(self, contiguous: Callable[[P], bool] = lambda partition: False) -> None:
        self._partitions: dict[P, _Partition] = {}
        self._contiguous = contiguous

    def is_contiguous(self, partition: P) -> bool:
        return self._contiguous(partition)

    def started(self, partition: P, offset: int, generation: int | None = None) -> None:
        """The consumer was positioned at ``offset`` (the committed offset) in ``generation``:
        on a contiguous partition, delivery must start there. Records already delivered in
        this generation are counted afresh: the seek delivers them again."""
        if self.is_contiguous(partition):
            self._partitions[partition] = _Partition(generation, next_offset=offset)

    def delivered(self, partition: P, offset: int, generation: int | None = None) -> int | None:
        """Record ``offset`` handed to the application in ``generation``. A redelivery of an
        offset at or below one already delivered in the same generation (after a seek
        back) changes nothing: the first delivery is still waiting or was handled.

        Returns the offset to fetch again from when this delivery shows that records of a
        contiguous partition were skipped, else None (and None while that rewind is under way).
        """
        state = self._partitions.get(partition)
        if state is None or state.generation != generation:
            state = self._partitions[partition] = _Partition(generation, next_offset=offset)
        if offset < state.next_offset:
            return None
        if offset > state.next_offset and self.is_contiguous(partition):
            if state.rewinding:
                return None
            state.rewinding = True
            return state.next_offset
        state.rewinding = False
        state.waiting.append(offset)
        state.next_offset = offset + 1
        return None

    def rewinding_to(self, partition: P) -> int | None:
        """The offset a skipped partition is being fetched again from, if it is."""
        state = self._partitions.get(partition)
        return state.next_offset if state is not None and state.rewinding else None

    def handled(self, partition: P, offset: int) -> None:
        state = self._partitions.get(partition)
        if state is None or not state.waiting or not state.waiting[0] <= offset < state.next_offset:
            return  # not waiting here: handled before, or delivered in an earlier assignment
        state.handled.add(offset)
        waiting = state.waiting
        while waiting and waiting[0] in state.handled:
            state.handled.discard(waiting.popleft())

    def committable(self, partition: P, generation: int | None = None) -> int | None:
        """The offset to commit, or None when ``partition`` was neither delivered from nor
        anchored in ``generation``."""
        state = self._partitions.get(partition)
        if state is None or state.generation != generation:
            return None
        # While skipped records are fetched again, waiting[0] (if any) is below next_offset.
        return state.waiting[0] if state.waiting else state.next_offset

    def forget(self, partition: P) -> None:
        """Drop a revoked partition: its next owner starts from the committed offset."""
        self._partitions.pop(partition, None)
