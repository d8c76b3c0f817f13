"""The services and workers a chaos run breaks: its own Kafka, PostgreSQL and workers.

Ports are below Linux's ephemeral range (32768-60999): a client retrying a stopped
server on an ephemeral port can connect to itself and keep that port from binding again.
"""

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from hub.infra.kafka import LocalKafka
from hub.infra.postgres import LocalPostgres

# Overridable so that two runs (a `make chaos` and a `make test`) can share a machine.
KAFKA_PORT = int(os.environ.get("HUB_CHAOS_KAFKA_PORT", "19692"))
POSTGRES_PORT = int(os.environ.get("HUB_CHAOS_POSTGRES_PORT", "25832"))
FIRST_WEB_PORT = int(os.environ.get("HUB_CHAOS_WEB_PORT", "18610"))
STOP_BOUND_S = 15.0
"""How long a worker may take to stop after SIGTERM (README, docs/reliability.md)."""


class Services:
    def __init__(self, root: Path, cache: Path) -> None:
        self.root = root
        self.kafka = LocalKafka(root / "kafka", cache / "kafka", KAFKA_PORT, KAFKA_PORT + 1)
        self.postgres = LocalPostgres(root / "postgres", POSTGRES_PORT)
        self.pii_key = secrets.token_urlsafe(32)

    def start_fresh(self) -> None:
        """Empty Kafka and PostgreSQL: a run's verdict must not count an earlier run's data."""
        self.stop()
        self.postgres.purge()
        shutil.rmtree(self.root, ignore_errors=True)
        self.kafka.start()
        self.postgres.start()

    def env(self) -> dict[str, str]:
        return {
            "HUB_KAFKA_BOOTSTRAP": self.kafka.bootstrap,
            "HUB_DATABASE_URL": self.postgres.url,
            "HUB_PII_KEY": self.pii_key,
        }

    def kill_broker(self) -> None:
        self.kafka.kill()

    def stop(self) -> None:
        self.kafka.stop()
        self.postgres.stop()


@dataclass
class Worker:
    """One ``hub worker`` process; started again by :class:`Workers` when it dies."""

    index: int
    workdir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    wanted: bool = False
    starts: int = 0
    unexpected_exits: list[int] = field(default_factory=list)
    stop_seconds: list[float] = field(default_factory=list)
    paused: bool = False

    @property
    def web_port(self) -> int:
        return FIRST_WEB_PORT + self.index

    def start(self) -> None:
        self.starts += 1
        self.wanted = True
        self.paused = False
        log = (self.workdir / f"worker-{self.index}.log").open("ab")
        env = {
            **self.env,
            "HUB_DATA_DIR": str(self.workdir / f"data-{self.index}"),
            "HUB_WEB_PORT": str(self.web_port),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hub", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        self.wanted = False
        if self.process is not None:
            self._resume()
            self.process.kill()
            self.process.wait()

    def terminate(self) -> float:
        """SIGTERM; the seconds until the process was gone (killed at 3x the bound)."""
        self.wanted = False
        if not self.alive():
            return 0.0
        assert self.process is not None
        self._resume()
        began = time.monotonic()
        self.process.terminate()
        try:
            self.process.wait(3 * STOP_BOUND_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        took = time.monotonic() - began
        self.stop_seconds.append(took)
        return took

    def pause(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGSTOP)
            self.paused = True

    def _resume(self) -> None:
        if self.paused and self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGCONT)
        self.paused = False

    def resume(self) -> None:
        self._resume()

    def supervise(self) -> None:
        """Start the worker again if it ended by itself, as an orchestrator would."""
        if self.wanted and self.process is not None and self.process.poll() is not None:
            self.unexpected_exits.append(self.process.returncode)
            self.start()

    def log_tail(self, lines: int = 30) -> str:
        path = self.workdir / f"worker-{self.index}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""
