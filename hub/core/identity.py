"""Who an event is about, when a channel knows the customer only by an identifier.

Pure parts of identity resolution: which keyed hashes to look an event's identifiers up
by, how merges lead to the surviving customer id, and the waiting room where events whose
identifiers are not known yet wait for their profile, bounded in event time and memory.
"""

from collections import deque
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, Literal, TypeVar

from hub.core.pii import IDENTIFIER_KINDS, Keyring
from schemas.interaction import CustomerRef

MAX_MERGE_HOPS = 16

Item = TypeVar("Item")
Partition = TypeVar("Partition", bound=Hashable)
Bound = Literal["time", "memory"]


def lookup_keys(ref: CustomerRef, keyring: Keyring) -> dict[str, list[str]]:
    """The keyed hashes to look each identifier of ``ref`` up by, in order of precedence
    (account, card, phone, web login): the first kind that resolves decides."""
    keys: dict[str, list[str]] = {}
    for kind in IDENTIFIER_KINDS:
        value = getattr(ref, kind)
        if value is not None:
            keys[kind] = keyring.lookup_keys(kind, value)
    return keys


def resolve(keys: dict[str, list[str]], owners: dict[str, str]) -> tuple[str, str] | None:
    """``(kind, customer_id)`` of the first identifier some customer holds, else None."""
    for kind, candidates in keys.items():
        for key in candidates:
            if key in owners:
                return kind, owners[key]
    return None


def survivor(customer_id: str, merged_into: Callable[[str], str | None]) -> str:
    """Follow ``merged_into`` links to the customer id that lives on.

    Chains are followed up to MAX_MERGE_HOPS; a cycle (bad reference data) stops at the
    last id before it repeats, so an event always lands somewhere rather than nowhere.
    """
    seen = {customer_id}
    current = customer_id
    for _ in range(MAX_MERGE_HOPS):
        target = merged_into(current)
        if target is None or target in seen:
            return current
        seen.add(target)
        current = target
    return current


@dataclass(slots=True)
class Waiting(Generic[Item]):
    item: Item
    occurred_at: datetime
    received_at: datetime


@dataclass(slots=True)
class _Queue(Generic[Item]):
    waiting: deque[Waiting[Item]] = field(default_factory=deque)
    event_time: datetime | None = None


class WaitingRoom(Generic[Partition, Item]):
    """Events waiting for their customer's profile, per source partition, in arrival order.

    A partition's clock is the latest event time seen on it; an event leaves with a
    reason once that clock is ``max_wait`` past its own time (and it has waited a little
    in real time too, see :meth:`expired`), or when its partition holds more than
    ``max_per_partition`` events (the oldest leaves first).
    """

    def __init__(self, *, max_wait: timedelta, max_per_partition: int) -> None:
        self._max_wait = max_wait
        self._max_per_partition = max_per_partition
        self._queues: dict[Partition, _Queue[Item]] = {}

    def __len__(self) -> int:
        return sum(len(queue.waiting) for queue in self._queues.values())

    def observe(self, partition: Partition, occurred_at: datetime) -> None:
        """Move the partition's event-time clock forward (never back)."""
        queue = self._queues.setdefault(partition, _Queue())
        if queue.event_time is None or occurred_at > queue.event_time:
            queue.event_time = occurred_at

    def add(self, partition: Partition, item: Item, occurred_at: datetime, received_at: datetime) -> None:
        self.observe(partition, occurred_at)
        self._queues[partition].waiting.append(Waiting(item, occurred_at, received_at))

    def __iter__(self) -> Iterator[Item]:
        for queue in self._queues.values():
            for waiting in queue.waiting:
                yield waiting.item

    def release(self, is_ready: Callable[[Item], bool]) -> list[Item]:
        """Remove and return the items ``is_ready`` accepts, each partition's in order."""
        released: list[Item] = []
        for queue in self._queues.values():
            kept: deque[Waiting[Item]] = deque()
            for waiting in queue.waiting:
                if is_ready(waiting.item):
                    released.append(waiting.item)
                else:
                    kept.append(waiting)
            queue.waiting = kept
        return released

    def expired(self, *, received_before: datetime, now: datetime) -> list[tuple[Item, Bound]]:
        """Remove and return the items beyond the memory bound or past the wait bound.

        Only items received by ``received_before`` expire by event time: a backlog read
        after an outage covers many minutes of event time in seconds, while the profiles
        it needs may still be on their way. An item that has waited ``max_wait`` in real
        time expires too: on a partition gone quiet, event time stands still.
        """
        gone: list[tuple[Item, Bound]] = []
        for queue in self._queues.values():
            while len(queue.waiting) > self._max_per_partition:
                gone.append((queue.waiting.popleft().item, "memory"))
            deadline = (queue.event_time or now) - self._max_wait
            kept: deque[Waiting[Item]] = deque()
            for waiting in queue.waiting:
                past_event_time = waiting.occurred_at < deadline and waiting.received_at <= received_before
                if past_event_time or waiting.received_at <= now - self._max_wait:
                    gone.append((waiting.item, "time"))
                else:
                    kept.append(waiting)
            queue.waiting = kept
        return gone

    def forget(self, keep: Callable[[Partition], bool]) -> list[Item]:
        """Drop the partitions ``keep`` rejects (revoked ones); return their items."""
        dropped: list[Item] = []
        for partition in [p for p in self._queues if not keep(p)]:
            dropped.extend(w.item for w in self._queues.pop(partition).waiting)
        return dropped
