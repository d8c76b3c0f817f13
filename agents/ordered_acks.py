"""Acknowledge a partition's records strictly in offset order.

Faust commits up to the highest acknowledged offset unless it sees a gap, and its gap
check misses a gap of one and is skipped while a partition has no committed offset yet.
A record that waits (for its customer's profile) while later records are acknowledged
could so be committed past and lost on a restart. Here a record's acknowledgement is
held back until every earlier record of its partition is settled too.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from faust.types import StreamT

from hub.dead_letter import SourceRecord

Partition = tuple[str, int]


@dataclass(slots=True)
class _Held:
    stream: StreamT[Any]
    event: Any
    settled: bool = False


class OrderedAcks:
    def __init__(self) -> None:
        self._held: dict[Partition, dict[int, _Held]] = {}

    def hold(self, record: SourceRecord, stream: StreamT[Any], event: Any) -> None:
        """Track a record handed to the ingestor (again, if Faust delivered it again)."""
        self._held.setdefault((record.topic, record.partition), {})[record.offset] = _Held(stream, event)

    async def settle(self, records: Sequence[SourceRecord]) -> None:
        """Mark ``records`` done; acknowledge every record now preceded only by done ones."""
        touched = set()
        for record in records:
            partition = (record.topic, record.partition)
            held = self._held.get(partition, {}).get(record.offset)
            if held is not None:  # None: its partition was revoked meanwhile
                held.settled = True
                touched.add(partition)
        for partition in touched:
            by_offset = self._held[partition]
            for offset in sorted(by_offset):
                if not by_offset[offset].settled:
                    break
                done = by_offset.pop(offset)
                await done.stream.ack(done.event)

    def forget(self, is_assigned: Callable[[str, int], bool]) -> None:
        """Drop revoked partitions: their next owner reads them from the committed offset."""
        for partition in [p for p in self._held if not is_assigned(*p)]:
            del self._held[partition]

    def __len__(self) -> int:
        return sum(len(by_offset) for by_offset in self._held.values())
