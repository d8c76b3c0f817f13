"""Starting a worker as a child process: a port for it, and waiting until ``/readyz`` says ready."""

import contextlib
import socket
import subprocess
import time
import urllib.request

from hub.errors import InfraError


def wait_until_ready(
    worker: "subprocess.Popen[bytes]", port: int, *, timeout_s: float, log_hint: str
) -> None:
    """Return once the worker answers 200 on ``/readyz``; InfraError if it exits or times out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise InfraError(f"the worker exited with code {worker.returncode}: see {log_hint}")
        if _ready(port):
            return
        time.sleep(0.3)
    raise InfraError(f"the worker was not ready within {timeout_s:.0f}s: see {log_hint}")


def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port``."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ready(port: int) -> bool:
    with (
        contextlib.suppress(OSError),
        urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as answer,
    ):
        return bool(answer.status == 200)
    return False
