"""A local single-node Apache Kafka (KRaft) from Maven Central's jars.

The jars are fetched once by ``deploy/kafka/pom.xml`` into ``.cache/kafka/libs`` (an
ignored folder), so later starts take about two seconds. The broker runs detached from
the process that started it and is stopped by its pid file.
"""

import base64
import contextlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
import uuid
from pathlib import Path

from hub.errors import InfraError

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kafka"
HEAP = "-Xms128m -Xmx512m"
# Serial GC and the C1 compiler start a small broker fastest on two cores.
JVM = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true"
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0


def broker_answers(port: int, timeout: float = 1.0) -> bool:
    """True when the broker answers an ApiVersions request, not merely accepts a connection.

    Kafka binds its listener before it serves requests, so a TCP connect is not readiness.
    """
    client = b"hub-ready"
    body = struct.pack(">hhih", 18, 0, 1, len(client)) + client
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
            conn.settimeout(timeout)
            conn.sendall(struct.pack(">i", len(body)) + body)
            head = conn.recv(10)
    except OSError:
        return False
    return len(head) >= 10 and struct.unpack(">iih", head[:10])[1:] == (1, 0)


class LocalKafka:
    def __init__(self, root: Path, cache: Path, port: int, controller_port: int) -> None:
        self.root = root
        self.libs = cache / "libs"
        self.class_archive = cache / "kafka-cds.jsa"
        self.port = port
        self.controller_port = controller_port
        self._pidfile = root / "broker.pid"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def is_running(self) -> bool:
        return broker_answers(self.port)

    def start(self) -> None:
        if self.is_running():
            return
        self._fetch_jars()
        data, logs = self.root / "data", self.root / "logs"
        data.mkdir(parents=True, exist_ok=True)
        logs.mkdir(parents=True, exist_ok=True)
        properties = self.root / "server.properties"
        template = (DEPLOY / "server.properties.template").read_text()
        properties.write_text(
            template.format(port=self.port, controller_port=self.controller_port, data_dir=data)
        )
        if not (data / "meta.properties").exists():
            self._format(properties)
        with (logs / "broker.out").open("ab") as out:  # the broker has its own copy
            process = subprocess.Popen(
                self._java("kafka.Kafka", str(properties), extra=f"{HEAP} {self._class_archive_options()}"),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        # Kept while the broker runs: a process handle dropped then makes Python warn
        # (ResourceWarning) in a long-lived caller that restarts the broker, the chaos suite.
        self._process = process
        self._pidfile.write_text(str(process.pid))
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise InfraError(f"Kafka exited with code {process.returncode}; see {logs}/server.log")
            if self.is_running():
                return
            time.sleep(0.1)
        self.stop()
        raise InfraError(
            f"Kafka did not answer on port {self.port} within {READY_TIMEOUT_S:.0f}s; see {logs}"
        )

    def stop(self) -> None:
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL, as a crash would (the chaos suite)."""
        self._end(signal.SIGKILL)

    def _end(self, how: signal.Signals) -> None:
        if not self._pidfile.exists():
            return
        pid = int(self._pidfile.read_text())
        process, self._process = self._process, None
        if process is not None and process.pid == pid:
            # Ours: waited for through its handle, which then knows it ended.
            process.send_signal(how)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        else:
            _end_foreign(pid, how)
        self._pidfile.unlink(missing_ok=True)

    def _fetch_jars(self) -> None:
        if any(self.libs.glob("kafka_2.13-*.jar")):
            return
        if shutil.which("mvn") is None or shutil.which("java") is None:
            raise InfraError("the local Kafka needs Java 17+ and Maven on PATH (apt-get install maven)")
        result = subprocess.run(
            [
                "mvn",
                "-q",
                "-B",
                "-f",
                str(DEPLOY / "pom.xml"),
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={self.libs}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise InfraError(f"fetching the Kafka jars from Maven Central failed: {result.stdout[-2000:]}")

    def _format(self, properties: Path) -> None:
        cluster_id = "-"
        while cluster_id.startswith("-"):  # Kafka's own rule: an id must not look like an option
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        result = subprocess.run(
            self._java(
                "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(properties), "--standalone"
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise InfraError(f"formatting Kafka's storage failed: {result.stdout}{result.stderr}")

    def _class_archive_options(self) -> str:
        # A class-data archive written by the first run makes later starts ~1s faster;
        # a stale one is ignored by the JVM.
        if self.class_archive.exists():
            return f"-Xlog:cds*=off -XX:SharedArchiveFile={self.class_archive}"
        return f"-Xlog:cds*=off -XX:ArchiveClassesAtExit={self.class_archive}"

    def _java(self, main: str, *args: str, extra: str = "") -> list[str]:
        return [
            "java",
            *JVM.split(),
            *extra.split(),
            f"-Dlog4j2.configurationFile={DEPLOY / 'log4j2.yaml'}",
            f"-Dkafka.logs.dir={self.root / 'logs'}",
            "-cp",
            f"{self.libs}/*",
            main,
            *args,
        ]


def _end_foreign(pid: int, how: signal.Signals) -> None:
    """End a broker another command started: signal it, poll until it is gone."""
    try:
        os.kill(pid, how)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            _reap(pid)
            os.kill(pid, 0)
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    except ProcessLookupError:
        pass


def _reap(pid: int) -> None:
    # Not our child when another command started it: the caller polls for its existence.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
