"""``hub worker``: check the services, then run the Faust worker until stopped."""

import asyncio
import json
import logging
import os
import threading
import time
from typing import Any

import faust
from faust.worker import Worker

from agents import register_agents
from hub import metrics
from hub.errors import ServiceUnavailable, StoreError
from hub.kafka_admin import ensure_topics
from hub.kafka_app import create_app
from hub.logs import configure, say
from hub.runtime import Runtime
from hub.settings import Settings
from hub.storage.history import HistoryStore
from hub.web import register_web

log = logging.getLogger(__name__)

MAX_STARTUP_DELAY_S = 10.0


def build_app(settings: Settings, **overrides: Any) -> faust.App:
    app = create_app(settings, **overrides)
    metrics.initialise_known_series()
    hot_path = register_agents(app, Runtime(settings))
    register_web(app, hot_path.ready.is_set)
    return app


async def preflight(settings: Settings) -> None:
    """Fail fast, with one clear message, when a setting is missing or wrong; wait (up to
    HUB_STARTUP_WAIT_S) for a broker or a database that cannot be reached yet, as when a
    whole deployment starts at once or the worker restarts during an outage."""
    settings.require_kafka()
    settings.require_database_url()
    settings.require_pii_key()
    deadline = time.monotonic() + settings.startup_wait_s
    delay = 1.0
    while True:
        try:
            await _services_ready(settings)
            return
        except ServiceUnavailable as exc:
            left = deadline - time.monotonic()
            if left <= 0:
                raise
            say(
                settings.log_format,
                f"waiting for the services ({left:.0f} s left, HUB_STARTUP_WAIT_S): {exc}",
                error=True,
            )
            await asyncio.sleep(min(delay, left))
            delay = min(delay * 2, MAX_STARTUP_DELAY_S)


async def _services_ready(settings: Settings) -> None:
    await ensure_topics(settings)
    store = await HistoryStore.open(settings.require_database_url(), pool_size=1)
    try:
        if not await store.is_migrated():
            raise StoreError("the database schema is not up to date: run `hub migrate` first")
    finally:
        await store.close()


STOP_OVERRAN_EXIT_CODE = 3


class BoundedStopWorker(Worker):
    """Faust's worker, with a bound on how long stopping may take.

    A graceful stop finishes the batch in hand (its grace is shorter than the bound) and
    commits. Some waits do not end by themselves: a consumer thread stuck on a broker
    that went away, a batch that retries an unreachable database. Past the bound the
    process exits at once; what it had not committed, its partitions' next owner reads
    again, and replays change nothing.
    """

    def __init__(self, app: faust.App, *, stop_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._stop_timeout_s = stop_timeout_s
        self._deadline: threading.Timer | None = None

    def _on_sigterm(self) -> None:
        self._arm_stop_deadline("SIGTERM")
        super()._on_sigterm()

    def _on_sigint(self) -> None:
        self._arm_stop_deadline("SIGINT")
        super()._on_sigint()

    def _arm_stop_deadline(self, signal_name: str) -> None:
        if self._deadline is not None:
            return
        # A thread, not the event loop: the loop may be the thing that is stuck.
        self._deadline = threading.Timer(self._stop_timeout_s, self._stop_overran, args=(signal_name,))
        self._deadline.daemon = True
        self._deadline.start()

    def _stop_overran(self, signal_name: str) -> None:
        os.write(
            2,
            f"hub worker: not stopped {self._stop_timeout_s:g} s after {signal_name} "
            "(HUB_STOP_TIMEOUT_S): exiting now; uncommitted records will be read again\n".encode(),
        )
        os._exit(STOP_OVERRAN_EXIT_CODE)


def run_worker(settings: Settings) -> None:
    logging_config = configure(settings.log_format, settings.log_level)
    asyncio.run(preflight(settings))
    # Faust creates its own data folder but not the folders above it.
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = build_app(settings)
    say(settings.log_format, "interaction hub starting with " + json.dumps(settings.describe(), default=str))
    worker = BoundedStopWorker(
        app,
        stop_timeout_s=settings.stop_timeout_s,
        loglevel=settings.log_level,
        quiet=True,
        logging_config=logging_config,
    )
    worker.execute_from_commandline()
