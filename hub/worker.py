"""``hub worker``: check the services, then run the Faust worker until stopped."""

import asyncio
import json
import logging
import sys
import time

import faust
from faust.worker import Worker

from agents import register_agents
from hub.errors import ServiceUnavailable, StoreError
from hub.kafka_admin import ensure_topics
from hub.kafka_app import create_app
from hub.runtime import Runtime
from hub.settings import Settings
from hub.storage.history import HistoryStore
from hub.web import register_web

log = logging.getLogger(__name__)

MAX_STARTUP_DELAY_S = 10.0


def build_app(settings: Settings, **overrides: object) -> faust.App:
    app = create_app(settings, **overrides)
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
            print(
                f"waiting for the services ({left:.0f} s left, HUB_STARTUP_WAIT_S): {exc}",
                file=sys.stderr,
                flush=True,
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


def run_worker(settings: Settings) -> None:
    asyncio.run(preflight(settings))
    # Faust creates its own data folder but not the folders above it.
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = build_app(settings)
    print("interaction hub starting with", json.dumps(settings.describe(), default=str), flush=True)
    Worker(app, loglevel=settings.log_level, quiet=True).execute_from_commandline()
