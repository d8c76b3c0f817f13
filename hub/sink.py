"""Where the hub's output records go: one small interface in front of the producer.

``send`` enqueues and returns an awaitable that resolves when the broker acknowledged
the record; callers send a whole batch, then await all the acknowledgements once.
"""

from collections.abc import Awaitable, Mapping
from typing import Any, Protocol

import faust

from schemas.headers import CONTENT_TYPE, JSON


def with_content_type(headers: Mapping[str, bytes] | None) -> dict[str, bytes]:
    """The headers of a record the hub produces: every value it writes is a JSON object, and
    says so, for consumers and tools that pick a decoder by the header."""
    return {CONTENT_TYPE: JSON, **(headers or {})}


class RecordSink(Protocol):
    async def send(
        self, topic: str, key: bytes | None, value: bytes, headers: Mapping[str, bytes] | None = None
    ) -> Awaitable[Any]: ...


class FaustProducerSink:
    """Sends through the Faust app's own producer (no second connection to the broker)."""

    def __init__(self, app: faust.App) -> None:
        self._app = app

    async def send(
        self, topic: str, key: bytes | None, value: bytes, headers: Mapping[str, bytes] | None = None
    ) -> Awaitable[Any]:
        return await self._app.producer.send(
            topic, key, value, partition=None, timestamp=None, headers=with_content_type(headers)
        )
