"""Poison isolation, in the spirit of Kafka Streams' processing-exception handler.

A batch whose handling raises an error that waiting does not cure (anything but
:class:`hub.errors.ServiceUnavailable`, which the caller's ``handle`` retries) is split in
halves until the records that fail on their own are found; the rest are handled, in
their order. When every record of a batch of several fails, the fault is not in the
records (a broken schema, a bug that everything hits): the error is raised, so that the
worker stops rather than dead-letter the whole stream.
"""

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


async def isolate(
    records: Sequence[T], handle: Callable[[Sequence[T]], Awaitable[None]]
) -> list[tuple[T, Exception]]:
    """Handle ``records``; return those that failed alone, with their errors."""
    poisoned: list[tuple[T, Exception]] = []
    await _handle_or_split(records, handle, poisoned)
    if len(poisoned) == len(records) > 1:
        raise poisoned[0][1]
    return poisoned


async def _handle_or_split(
    records: Sequence[T],
    handle: Callable[[Sequence[T]], Awaitable[None]],
    poisoned: list[tuple[T, Exception]],
) -> None:
    try:
        await handle(records)
        return
    except Exception as exc:
        if len(records) == 1:
            poisoned.append((records[0], exc))
            return
        # The type only: an exception's message may quote the record.
        log.warning(
            "handling %d records failed (%s); splitting the batch to isolate the record",
            len(records),
            type(exc).__name__,
        )
    middle = len(records) // 2
    await _handle_or_split(records[:middle], handle, poisoned)
    await _handle_or_split(records[middle:], handle, poisoned)
