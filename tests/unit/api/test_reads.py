"""CustomerReads turns a PostgreSQL outage into StoreUnavailable (503), not StoreError (500)."""

from collections.abc import Callable
from typing import Any

import asyncpg
import pytest

from hub.errors import StoreError, StoreUnavailable
from hub.storage.customer_reads import CustomerReads
from hub.storage.history import HistoryStore


class FailingPool:
    """Stands in for an asyncpg pool whose every query fails with ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def _fail(self, *args: Any) -> Any:
        raise self.error

    fetch = fetchrow = fetchval = _fail


def reads_failing_with(error: Exception) -> CustomerReads:
    return CustomerReads(HistoryStore(FailingPool(error)))  # type: ignore[arg-type]


READS: list[Callable[[CustomerReads], Any]] = [
    lambda r: r.profile("C1"),
    lambda r: r.customer_by_lookup_keys(["k1:ab"]),
    lambda r: r.open_complaints(["C1"]),
    lambda r: r.channel_counts(["C1"]),
    lambda r: r.history(["C1"], limit=20),
    lambda r: r.decisions(["C1"], limit=20),
]


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.ConnectionFailureError("connection failure"),  # SQLSTATE 08006
        asyncpg.exceptions.CrashShutdownError("the server crashed"),  # 57P02
        asyncpg.exceptions.AdminShutdownError("terminating connection"),  # 57P01
        ConnectionResetError("reset by peer"),
    ],
)
@pytest.mark.parametrize("read", READS)
async def test_an_outage_is_store_unavailable(error: Exception, read: Callable[[CustomerReads], Any]) -> None:
    with pytest.raises(StoreUnavailable):
        await read(reads_failing_with(error))


async def test_a_refused_query_stays_a_store_error() -> None:
    with pytest.raises(StoreError):
        await reads_failing_with(asyncpg.exceptions.UndefinedTableError("no such table")).profile("C1")
