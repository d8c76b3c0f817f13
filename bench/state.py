"""A worker holding many customers' state: its resident memory, and how long a restart
takes until it is ready again (BENCH_STATE_CUSTOMERS; 0 skips it).

One web login each of N distinct customers goes through the worker; once all N are
recorded, the worker's resident memory is read, it is stopped with SIGTERM, and a new
worker on the same data folder is timed until ``/readyz`` answers 200; then one on an
empty data folder, which reads the states from PostgreSQL as it needs them.
"""

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from bench import cpu
from bench.figures import State
from bench.kafka_io import publish
from bench.pipeline import HubRun, recorded
from bench.workers import HubWorker
from schemas import topics

RESTART_TIMEOUT_S = 600


def logins(prefix: str, customers: int) -> Iterator[tuple[str, bytes, bytes]]:
    """One successful web login for each of ``customers`` distinct customers."""
    occurred = datetime.now(UTC).isoformat()
    for n in range(customers):
        customer_id = f"S{n:08d}"
        event = {
            "event_id": str(uuid.uuid4()),
            "schema_version": 1,
            "channel": "web",
            "type": "login",
            "occurred_at": occurred,
            "customer": {"customer_id": customer_id},
            "source": {"system": "bench"},
            "payload": {"success": True},
        }
        yield prefix + topics.INTERACTIONS_WEB, customer_id.encode(), json.dumps(event).encode()


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


async def start_to_ready(worker: HubWorker) -> float:
    """Seconds from starting ``worker`` to its ``/readyz`` answering 200; it is stopped after."""
    began = time.monotonic()
    worker.start()
    try:
        await worker.ready(timeout_s=RESTART_TIMEOUT_S)
        return time.monotonic() - began
    finally:
        worker.stop()


async def held_state(run: HubRun, url: str, customers: int) -> State:
    bootstrap = await run.topics()
    worker = run.worker().start()
    fresh = run.worker(1)
    try:
        await worker.ready()
        await publish(bootstrap, logins(run.prefix, customers))
        await recorded(run, bootstrap, url, customers, timeout_s=600 + customers / 200)
        rss = cpu.rss_bytes(worker.pid)
        began = time.monotonic()
        if not worker.stop(timeout_s=RESTART_TIMEOUT_S):
            raise RuntimeError(f"the worker did not stop within {RESTART_TIMEOUT_S}s of SIGTERM")
        stopped = time.monotonic() - began
        data = folder_bytes(Path(worker.data_dir))
        same_folder = await start_to_ready(run.worker())  # a fresh port, the same data folder
        empty_folder = await start_to_ready(fresh)  # it reads the states from PostgreSQL as needed
    finally:
        worker.stop()
        worker.remove_data()
        fresh.remove_data()
    return State(customers, rss, data, stopped, same_folder, empty_folder)
