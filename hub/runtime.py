"""What the agents share in one worker: the store, the sink, retries and shutdown."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from hub import metrics
from hub.errors import ServiceUnavailable
from hub.settings import Settings
from hub.storage.history import HistoryStore

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_BACKOFF_SECONDS = 30.0


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: HistoryStore | None = None
        self._lock = asyncio.Lock()

    async def store(self) -> HistoryStore:
        """The PostgreSQL store, connected on first use and retried while unavailable."""
        async with self._lock:
            if self._store is None:
                url = self.settings.require_database_url()
                self._store = await retrying(
                    lambda: HistoryStore.open(url, pool_size=self.settings.db_pool_size),
                    "connecting to PostgreSQL",
                )
            return self._store


async def retrying(operation: Callable[[], Awaitable[T]], what: str) -> T:
    """Run ``operation`` until it succeeds, backing off while a service is unavailable.

    Only :class:`ServiceUnavailable` is retried: the batch stays unacknowledged, so the
    stream pauses instead of losing or skipping anything. Other errors propagate.
    """
    delay = 0.5
    while True:
        try:
            return await operation()
        except ServiceUnavailable as exc:
            metrics.DB_RETRIES.inc()
            log.warning("%s failed, retrying in %.1fs: %s", what, delay, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)


SHUTDOWN_GRACE_SECONDS = 10.0


async def finish_before_stopping(work: Awaitable[T], *, grace_s: float = SHUTDOWN_GRACE_SECONDS) -> T:
    """Await ``work``; if the worker stops meanwhile, give it ``grace_s`` to finish first.

    A batch cancelled between publishing its triggers and marking them published would
    have them published again by whoever replays it. Shielded, the batch completes (or
    fails and is replayed whole); the cancellation is re-raised either way, so the batch
    is not acknowledged here.
    """
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(task, grace_s)
        raise
