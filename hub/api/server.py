"""``hub api``: serve the customer API and page with uvicorn, apart from the stream workers.

Refuses to start, with one line that says what to fix, without tokens, without the PII
key (identifier search needs it), when the port is taken, when PostgreSQL cannot be
reached or has not been migrated.
"""

import asyncio
import errno
import signal
import socket
from urllib.parse import urlsplit

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from hub.api.app import create_api
from hub.errors import ConfigError, StoreError
from hub.logs import configure, json_logging_config, say
from hub.settings import Settings
from hub.storage.audit import AuditStore
from hub.storage.customer_reads import CustomerReads
from hub.storage.history import HistoryStore

UVICORN_LEVELS = {"crit": "critical", "error": "error", "warn": "warning", "info": "info", "debug": "debug"}


def run_api(settings: Settings) -> None:
    configure(settings.log_format, settings.log_level)
    settings.api.require_tokens()
    settings.require_pii_keyring()
    url = settings.require_database_url()
    listener = _listen(settings.api.host, settings.api.port)
    try:
        asyncio.run(_serve(settings, url, listener))
    finally:
        listener.close()


async def _serve(settings: Settings, url: str, listener: socket.socket) -> None:
    store = await HistoryStore.open(url, pool_size=settings.db_pool_size)
    try:
        migrated = await store.is_migrated()
    except BaseException:
        await store.close()
        raise
    if not migrated:
        await store.close()
        raise StoreError(f"PostgreSQL at {_where(url)} has not been migrated: run `hub migrate`")
    reads = CustomerReads(store)
    try:
        config = uvicorn.Config(
            create_api(settings, reads, AuditStore(store)),
            log_level=UVICORN_LEVELS[settings.log_level],
            # JSON mode: uvicorn keeps the root's JSON handler (hub.logs) instead of its own.
            log_config=json_logging_config(settings.log_level)
            if settings.log_format == "json"
            else LOGGING_CONFIG,
            # Paths carry customer ids: no access log (personal data stays out of logs).
            access_log=False,
            server_header=False,
        )
        host, port = listener.getsockname()[:2]
        say(settings.log_format, f"hub api: serving the customer API and page on http://{host}:{port}/")
        # uvicorn shuts down gracefully on SIGTERM, then raises the signal again for the
        # process to die of it; answered by a no-op, the pool still closes and we exit 0.
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
        try:
            await uvicorn.Server(config).serve(sockets=[listener])
        finally:
            signal.signal(signal.SIGTERM, previous)
    finally:
        await reads.close()


def _where(url: str) -> str:
    """``host:port/database`` of a URL, without its credentials."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or ''}"


def _listen(host: str, port: int) -> socket.socket:
    """Bind the port here, where taking it can fail with a clear message, and hand it to uvicorn."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} on {host} is taken (HUB_API__PORT): stop what listens there "
                "or choose another port"
            ) from None
        raise ConfigError(f"cannot listen on {host}:{port} (HUB_API__HOST, HUB_API__PORT): {exc}") from None
    listener.set_inheritable(True)
    return listener
