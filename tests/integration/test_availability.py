"""Availability: a worker started while a service cannot be reached waits for it (not
ready meanwhile) instead of exiting; a killed worker's partitions go to another in
seconds."""

import asyncio
import contextlib
import json
import os
import signal
import time
from pathlib import Path
from urllib.parse import urlsplit

from hub.readiness import free_port
from schemas import topics
from tests.factories import envelope
from tests.integration.harness import HubUnderTest, wait_for_rows


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


class Relay:
    """A TCP server's handler that relays each connection to ``host:port``."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._writers: list[asyncio.StreamWriter] = []

    async def __call__(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        server_reader, server_writer = await asyncio.open_connection(*self._target)
        self._writers += [client_writer, server_writer]
        await asyncio.gather(_pipe(client_reader, server_writer), _pipe(server_reader, client_writer))

    async def close(self) -> None:
        for writer in self._writers:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def test_a_worker_started_while_postgresql_is_unreachable_waits_and_then_becomes_ready(
    tmp_path: Path,
) -> None:
    real = urlsplit(os.environ["HUB_DATABASE_URL"])
    assert real.hostname is not None and real.port is not None
    port = free_port()
    credentials = real.netloc.rpartition("@")[0]
    url = real._replace(netloc=f"{credentials}@127.0.0.1:{port}").geturl()
    hub = HubUnderTest(tmp_path, extra_env={"HUB_DATABASE_URL": url})

    starting = asyncio.ensure_future(asyncio.to_thread(hub.start))
    await asyncio.sleep(6)
    assert not starting.done(), "the worker gave up or started without its database"
    assert hub.process is not None and hub.process.poll() is None
    # PostgreSQL becomes reachable: a relay on the port the worker was told to use.
    relay = Relay(real.hostname, real.port)
    server = await asyncio.start_server(relay, "127.0.0.1", port)
    try:
        await asyncio.wait_for(starting, 90)
        log = (hub.workdir / "worker-1.log").read_text(errors="replace")
        assert "waiting for the services" in log and "cannot reach PostgreSQL" in log, log[-3000:]
    finally:
        hub.stop()
        server.close()
        await relay.close()


async def test_a_killed_workers_partitions_are_taken_over_in_seconds(tmp_path: Path) -> None:
    """kill -9 leaves no goodbye: the groups wait HUB_SESSION_TIMEOUT_S (10 s) for the dead
    member, not Faust's 60 s (57 s measured with it)."""
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first = HubUnderTest(tmp_path / "first")
    first.start()
    assert first.process is not None
    first.process.send_signal(signal.SIGKILL)
    first.process.wait()
    killed = time.monotonic()
    second = HubUnderTest(tmp_path / "second", prefix=first.prefix)
    try:
        await asyncio.to_thread(second.start)
        run = first.prefix.strip(".")
        event = envelope(event_id=f"{run}-after", customer={"customer_id": f"{run}-c"})
        await second.produce([(topics.INTERACTIONS_TELLER, f"{run}-c".encode(), json.dumps(event).encode())])
        await wait_for_rows("SELECT event_id FROM interactions WHERE event_id = $1", f"{run}-after", expect=1)
        taken_over = time.monotonic() - killed
        assert taken_over < 3 * 10, f"{taken_over:.1f} s from the kill to the next event recorded"
    finally:
        second.stop()
        first.process = None
