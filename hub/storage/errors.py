"""Where asyncpg's exceptions enter the hub and become :mod:`hub.errors` types."""

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import asyncpg

from hub.errors import ConfigError, StoreError, StoreUnavailable

_UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    # Two transactions that wait on each other: one is cancelled and is simply tried again.
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
)


@contextmanager
def converted(doing: str) -> Iterator[None]:
    """Re-raise driver errors raised while ``doing`` something as hub errors."""
    try:
        yield
    except _UNAVAILABLE as exc:
        raise StoreUnavailable(f"PostgreSQL unavailable while {doing}: {exc}") from exc
    except asyncpg.PostgresError as exc:
        raise StoreError(f"PostgreSQL refused {doing}: {exc}") from exc


# Answers that mean the server went away or is going away, not that the query is wrong:
# a broken connection (SQLSTATE class 08) or an operator's intervention (class 57:
# shutdown, crash, restart, cancelled statement). Retrying later may help.
_OUTAGES = (asyncpg.exceptions.PostgresConnectionError, asyncpg.exceptions.OperatorInterventionError)


@contextmanager
def reading(doing: str) -> Iterator[None]:
    """:func:`converted`, with an outage of the server as StoreUnavailable, never StoreError.

    For the API's queries, where an outage must answer 503 rather than 500."""
    with converted(doing):
        try:
            yield
        except _OUTAGES as exc:
            raise StoreUnavailable(f"PostgreSQL unavailable while {doing}: {exc}") from exc


@contextmanager
def connecting(url: str) -> Iterator[None]:
    """Connecting to ``url`` (HUB_DATABASE_URL): one line that names the setting and the fix.

    A refused login or an unknown database is a ConfigError (waiting will not cure it); a
    server that does not answer is StoreUnavailable (the worker waits for it at start)."""
    where = server_of(url)
    try:
        yield
    except asyncpg.InvalidAuthorizationSpecificationError as exc:  # 28000, 28P01: user, password
        raise ConfigError(
            f"PostgreSQL at {where} refused the login of HUB_DATABASE_URL ({exc}): fix the user name "
            "and password in HUB_DATABASE_URL (a local server's are in what `hub infra up` prints)"
        ) from None
    except asyncpg.InvalidCatalogNameError as exc:  # 3D000
        raise ConfigError(
            f"PostgreSQL at {where} has no such database ({exc}): fix the database name in "
            "HUB_DATABASE_URL, or create it"
        ) from None
    except _UNAVAILABLE as exc:
        raise StoreUnavailable(
            f"cannot reach PostgreSQL at {where} (HUB_DATABASE_URL): {exc}. "
            "Start the server or fix the URL; `hub infra up` starts a local one."
        ) from exc
    except asyncpg.PostgresError as exc:
        raise StoreError(f"PostgreSQL at {where} refused the connection (HUB_DATABASE_URL): {exc}") from exc


def server_of(url: str) -> str:
    """``host:port`` of a URL, without its credentials."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}"
