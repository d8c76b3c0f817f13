"""Worker processes of the bench: the minimal Faust agent and ``hub worker`` instances."""

import asyncio
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

from hub.readiness import free_port, wait_until_ready

READY_TIMEOUT_S = 90
STOP_TIMEOUT_S = 45


def spawn(module_args: list[str], env: dict[str, str]) -> "subprocess.Popen[bytes]":
    """``python -m ...`` as a child, so that its pid is the worker's own (no shell between)."""
    return subprocess.Popen(
        [sys.executable, "-m", *module_args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def stop(worker: "subprocess.Popen[bytes]", timeout_s: float = STOP_TIMEOUT_S) -> bool:
    """SIGTERM, then SIGKILL after ``timeout_s``; True when the worker exited by itself."""
    worker.terminate()
    try:
        worker.wait(timeout_s)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
        return False
    return True


@dataclass
class HubWorker:
    """One ``hub worker`` on the run's topics, with a web port and data folder of its own."""

    prefix: str
    data_dir: str
    partitions: int
    port: int = 0
    process: "subprocess.Popen[bytes] | None" = None

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "HUB_TOPIC_PREFIX": self.prefix,
            "HUB_PARTITIONS": str(self.partitions),
            "HUB_WEB_PORT": str(self.port),
            "HUB_DATA_DIR": self.data_dir,
            "HUB_LOG_LEVEL": "warn",
        }

    def start(self) -> "HubWorker":
        self.port = free_port()
        self.process = spawn(["hub", "worker"], self.env())
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        assert self.process is not None
        await asyncio.to_thread(
            wait_until_ready, self.process, self.port, timeout_s=timeout_s, log_hint="HUB_LOG_LEVEL=info"
        )

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """Stop the worker if it runs; False when it had to be killed."""
        if self.process is not None and self.process.poll() is None:
            return stop(self.process, timeout_s)
        return True

    def remove_data(self) -> None:
        shutil.rmtree(self.data_dir, ignore_errors=True)


async def all_ready(workers: list[HubWorker]) -> None:
    """Every worker ready, and still all ready after the group has had time to settle:
    the first to start is ready before the second joins, then rebalances."""
    for _ in range(2):
        for worker in workers:
            await worker.ready()
        await asyncio.sleep(2.0)
    for worker in workers:
        await worker.ready()
