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
"""

from collections import deque
from collections.abc import Hashable
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
    """One past the last delivered offset."""


class HandledOffsets(Generic[P]):
    """Per partition ``P`` and consumer-group generation: the offset up to which every
    delivered record was handled.

    The generation matters: between the revocation of a partition and its assignment
    again, records fetched before still reach the application under the old generation.
    Counted as the start of the partition, they made the records it then delivered again
    from the committed offset look like repeats, and a commit could pass records still
    waiting to be handled (seen as lost events in the chaos suite).
    """

    def __init__(self) -> None:
        self._partitions: dict[P, _Partition] = {}

    def delivered(self, partition: P, offset: int, generation: int | None = None) -> None:
        """Record ``offset`` handed to the application in ``generation``. A redelivery of an
        offset at or below one already delivered in the same generation (after a seek
        back) changes nothing: the first delivery is still waiting or was handled."""
        state = self._partitions.get(partition)
        if state is None or state.generation != generation:
            state = self._partitions[partition] = _Partition(generation, next_offset=offset)
        if offset < state.next_offset:
            return
        state.waiting.append(offset)
        state.next_offset = offset + 1

    def handled(self, partition: P, offset: int) -> None:
        state = self._partitions.get(partition)
        if state is None or not state.waiting or not state.waiting[0] <= offset < state.next_offset:
            return  # not waiting here: handled before, or delivered in an earlier assignment
        state.handled.add(offset)
        waiting = state.waiting
        while waiting and waiting[0] in state.handled:
            state.handled.discard(waiting.popleft())

    def committable(self, partition: P, generation: int | None = None) -> int | None:
        """The offset to commit, or None when nothing was delivered on ``partition`` in
        ``generation``."""
        state = self._partitions.get(partition)
        if state is None or state.generation != generation:
            return None
        return state.waiting[0] if state.waiting else state.next_offset

    def forget(self, partition: P) -> None:
        """Drop a revoked partition: its next owner starts from the committed offset."""
        self._partitions.pop(partition, None)
