"""The backtest's processes: started before their parts, each ends whether it got one or not."""

import socket
import time

import pytest

from hub.backtest.parts import Part, PartProcesses
from hub.errors import HubError
from hub.rules.loading import read_rules
from hub.settings import Settings
from hub.storage.history_replay import Selection


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _part_on_no_database() -> Part:
    settings = Settings(
        kafka_bootstrap="x:9092",
        database_url=f"postgresql://hub:secret@127.0.0.1:{_closed_port()}/hub",
        pii_key="a test key of some length",
    )
    rules = read_rules(None)
    return Part(settings, rules, rules, Selection(), {}, None, snapshot="00000003-0000001B-1")


@pytest.mark.timeout(60)
async def test_a_part_that_fails_is_named_here_and_the_waiting_process_ends_too() -> None:
    progress: list[int] = []
    began = time.monotonic()

    with pytest.raises(HubError) as failed:
        async with PartProcesses(2) as processes:
            await processes.replay([_part_on_no_database()], progress.append)

    assert "127.0.0.1" in str(failed.value)  # the store's own message, not a bare exit code
    assert not progress
    assert all(not p.is_alive() for p in processes._processes)
    assert time.monotonic() - began < 30  # neither process was left to time out


@pytest.mark.timeout(60)
async def test_processes_given_no_part_end_at_once() -> None:
    async with PartProcesses(2) as processes:
        assert await processes.replay([], lambda _: None) == []

    assert [p.exitcode for p in processes._processes] == [0, 0]
