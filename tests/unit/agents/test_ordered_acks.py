"""Acknowledgements in offset order: a waiting record holds back those after it."""

from typing import Any

from agents.ordered_acks import OrderedAcks
from hub.dead_letter import SourceRecord


class Stream:
    def __init__(self) -> None:
        self.acked: list[Any] = []

    async def ack(self, event: Any) -> bool:
        self.acked.append(event)
        return True


def record(offset: int, partition: int = 0) -> SourceRecord:
    return SourceRecord("t.interactions.phone", partition, offset, None, b"{}")


async def test_a_waiting_record_holds_back_the_acks_of_later_records_until_it_settles() -> None:
    stream, acks = Stream(), OrderedAcks()
    records = [record(n) for n in range(4)]
    for r in records:
        acks.hold(r, stream, f"e{r.offset}")  # type: ignore[arg-type]
    await acks.settle([records[0], records[2], records[3]])
    assert stream.acked == ["e0"], "record 1 waits: 2 and 3 must not be committed past it"
    await acks.settle([records[1]])
    assert stream.acked == ["e0", "e1", "e2", "e3"]
    assert len(acks) == 0


async def test_partitions_are_independent() -> None:
    stream, acks = Stream(), OrderedAcks()
    waiting, other = record(0, partition=0), record(0, partition=1)
    for r in (waiting, other):
        acks.hold(r, stream, f"p{r.partition}")  # type: ignore[arg-type]
    await acks.settle([other])
    assert stream.acked == ["p1"]


async def test_a_record_delivered_again_is_acknowledged_through_its_latest_event() -> None:
    stream, acks = Stream(), OrderedAcks()
    r = record(5)
    acks.hold(r, stream, "first delivery")  # type: ignore[arg-type]
    acks.hold(r, stream, "after a rebalance")  # type: ignore[arg-type]
    await acks.settle([r])
    assert stream.acked == ["after a rebalance"]


async def test_revoked_partitions_are_forgotten_and_their_settlement_ignored() -> None:
    stream, acks = Stream(), OrderedAcks()
    kept, revoked = record(0, partition=0), record(0, partition=1)
    for r in (kept, revoked):
        acks.hold(r, stream, f"p{r.partition}")  # type: ignore[arg-type]
    acks.forget(lambda topic, partition: partition == 0)
    await acks.settle([kept, revoked])
    assert stream.acked == ["p0"]
    assert len(acks) == 0
