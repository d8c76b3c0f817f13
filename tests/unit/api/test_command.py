"""`hub api` refuses to start with one line that says what to fix."""

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from hub.api import server
from hub.errors import HubError
from hub.readiness import free_port
from tests.unit.api import fakes

TOKENS = '[{"name": "desk", "token": "desk-token-0123456789", "scopes": ["customers:read"]}]'
UNREACHABLE_DB = "postgresql://hub:secret-pw@127.0.0.1:1/hub"


def hub_api(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    return subprocess.run(
        [sys.executable, "-m", "hub", "api"], env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def assert_one_line(result: subprocess.CompletedProcess[str], names: str) -> None:
    assert result.returncode == 2
    assert result.stderr.startswith("hub: error: ")
    assert names in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_without_tokens() -> None:
    assert_one_line(hub_api(HUB_DATABASE_URL=UNREACHABLE_DB), "HUB_API__TOKENS is not set")


def test_with_a_short_token() -> None:
    short = '[{"name": "desk", "token": "short", "scopes": []}]'
    result = hub_api(HUB_API__TOKENS=short)
    assert_one_line(result, "at least 16 characters")
    assert "short" not in result.stderr.replace("shorter", "")


def test_without_the_pii_key() -> None:
    assert_one_line(
        hub_api(HUB_API__TOKENS=TOKENS, HUB_DATABASE_URL=UNREACHABLE_DB), "HUB_PII_KEY is not set"
    )


def test_when_postgresql_is_unreachable() -> None:
    result = hub_api(
        HUB_API__TOKENS=TOKENS,
        HUB_DATABASE_URL=UNREACHABLE_DB,
        HUB_PII_KEY="a-long-enough-test-key",
        HUB_API__PORT=str(free_port()),
    )
    assert_one_line(result, "cannot reach PostgreSQL at 127.0.0.1:1")


def test_when_the_port_is_taken(taken_port: int) -> None:
    result = hub_api(
        HUB_API__TOKENS=TOKENS,
        HUB_DATABASE_URL=UNREACHABLE_DB,
        HUB_PII_KEY="a-long-enough-test-key",
        HUB_API__PORT=str(taken_port),
    )
    assert_one_line(result, f"port {taken_port} on 127.0.0.1 is taken (HUB_API__PORT)")


def test_config_masks_the_tokens() -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    result = subprocess.run(
        [sys.executable, "-m", "hub", "config"],
        env={**clean, "HUB_API__TOKENS": TOKENS},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert "desk-token" not in result.stdout
    assert '"name": "desk"' in result.stdout


class UnmigratedStore:
    closed = False

    async def is_migrated(self) -> bool:
        return False

    async def close(self) -> None:
        self.closed = True


async def test_an_unmigrated_database_is_refused_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    store = UnmigratedStore()

    async def opened(url: str, *, pool_size: int = 4) -> UnmigratedStore:
        return store

    monkeypatch.setattr(server.HistoryStore, "open", opened)
    with socket.socket() as listener, pytest.raises(HubError) as refused:
        await server._serve(fakes.settings(), "postgresql://hub:secret-pw@db.example:6543/hub", listener)
    assert str(refused.value) == "PostgreSQL at db.example:6543/hub has not been migrated: run `hub migrate`"
    assert store.closed
