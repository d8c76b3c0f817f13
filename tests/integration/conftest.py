import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.integration.harness import HubUnderTest

REQUIRED = ("HUB_KAFKA_BOOTSTRAP", "HUB_DATABASE_URL")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session", autouse=True)
def services() -> None:
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        # A failure, never a skip: a suite that silently skips its integration tests
        # reports green on nothing.
        pytest.fail(f"{', '.join(missing)} not set: run `make test`, which starts Kafka and PostgreSQL")


@pytest.fixture(scope="session", autouse=True)
def migrated(services: None) -> None:
    HubUnderTest(Path(".")).hub("migrate")


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubUnderTest]:
    under_test = HubUnderTest(tmp_path)
    under_test.start()
    yield under_test
    under_test.stop()


@pytest.fixture
async def connection() -> AsyncIterator[asyncpg.Connection]:
    """A connection of its own to the suite's PostgreSQL."""
    connection = await asyncpg.connect(os.environ["HUB_DATABASE_URL"])
    yield connection
    await connection.close()
