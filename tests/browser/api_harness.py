"""Run ``hub api`` as a child process next to a :class:`HubUnderTest` worker."""

import json
import secrets
import subprocess
import sys
from dataclasses import dataclass, field

from hub.errors import InfraError
from hub.readiness import free_port, wait_until_ready
from tests.integration.harness import HubUnderTest

READY_TIMEOUT_S = 60
SCOPES = ("customers:read", "decisions:read")


@dataclass
class ApiUnderTest:
    """``hub api`` on a free port, with the worker's environment and a token of its own."""

    hub: HubUnderTest
    port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def env(self) -> dict[str, str]:
        return {
            **self.hub.env,
            "HUB_API__HOST": "127.0.0.1",
            "HUB_API__PORT": str(self.port),
            "HUB_API__TOKENS": json.dumps([{"name": "browser-test", "token": self.token, "scopes": SCOPES}]),
        }

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.starts += 1
        with (self.hub.workdir / f"api-{self.starts}.log").open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hub", "api"], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            wait_until_ready(self.process, self.port, timeout_s=READY_TIMEOUT_S, log_hint="the API log below")
        except InfraError as exc:
            self.stop()
            raise AssertionError(f"hub api: {exc}\n{self.log()}") from None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"hub api did not stop within 15s of SIGTERM:\n{self.log()}") from None
        finally:
            self.process = None

    def log(self) -> str:
        return (self.hub.workdir / f"api-{self.starts}.log").read_text(errors="replace")[-6000:]
