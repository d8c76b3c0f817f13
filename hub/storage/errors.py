"""Where asyncpg's exceptions enter the hub and become :mod:`hub.errors` types."""

from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from hub.errors import StoreError, StoreUnavailable

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
