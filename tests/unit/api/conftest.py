from collections.abc import AsyncIterator

import httpx
import pytest

from hub.api.app import create_api
from tests.unit.api.fakes import FakeAudit, FakeReads, settings


@pytest.fixture
def reads() -> FakeReads:
    return FakeReads()


@pytest.fixture
def audit() -> FakeAudit:
    return FakeAudit()


@pytest.fixture
async def client(reads: FakeReads, audit: FakeAudit) -> AsyncIterator[httpx.AsyncClient]:
    app = create_api(settings(), reads, audit)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as client:
        yield client
