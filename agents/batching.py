"""Batches of Faust events that are acknowledged only after they were handled."""

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

from faust.types import StreamT

from hub.runtime import finish_before_stopping

T = TypeVar("T")


async def unacked_batches(stream: StreamT[Any], max_: int, within_s: float) -> AsyncIterator[Sequence[Any]]:
    """Yield lists of events; the caller acks them with :func:`ack_all` when done.

    ``take_events`` acknowledges a batch when the loop moves on *or is torn down*, so a
    shutdown in the middle of a batch would commit offsets of unhandled records.
    ``noack_take`` never acknowledges by itself and yields the events, with their
    records' positions, so that the caller acks them once they are handled.
    """
    # noack_take turns the stream's own acknowledgements off while it runs and restores
    # the value it found when it ends, at shutdown too; the stream may still pass a few
    # fetched records through then, and with acks back on they would be acknowledged,
    # and committed, unhandled (seen as lost records when a worker left its group,
    # tests/integration/test_rebalance.py). Off before it starts, they stay off.
    stream.enable_acks = False
    async for events in stream.noack_take(max_, within=within_s):  # type: ignore[attr-defined]
        yield events


async def ack_all(stream: StreamT[Any], events: Sequence[Any]) -> None:
    for event in events:
        await stream.ack(event)


async def one_by_one(
    stream: StreamT[Any], handle: Callable[[Any], Awaitable[None]], *, max_: int, within_s: float
) -> None:
    """Handle a stream's events one at a time, acknowledging each batch once all are handled.

    For reference data (profiles, outcomes) where order matters more than throughput;
    unlike ``stream.events()`` nothing is acknowledged that was not handled.
    """
    async for events in unacked_batches(stream, max_, within_s):
        for event in events:
            await finish_before_stopping(handle(event))
        await ack_all(stream, events)
