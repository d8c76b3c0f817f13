#!/usr/bin/env python3
"""Run a throwaway single-node Apache Kafka 4.x broker (KRaft) with only Java 17 + Maven.

Stdlib only. Layout under ROOT (default .cache/kafka/run):
  ROOT/server.properties   rendered from server.properties.template
  ROOT/data/               log.dirs (formatted on first start)
  ROOT/logs/server.log     INFO log (WARN+ also goes to ROOT/logs/broker.out)
  ROOT/broker.pid

  python deploy/kafka/localkafka.py fetch
  python deploy/kafka/localkafka.py start [--root DIR] [--port 9092] [--controller-port 9093]
  python deploy/kafka/localkafka.py stop  [--root DIR]
"""
from __future__ import annotations

import argparse
import base64
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CACHE = Path(os.environ.get("KAFKA_CACHE_DIR", REPO / ".cache" / "kafka"))
LIBS = CACHE / "libs"
HEAP = os.environ.get("KAFKA_HEAP_OPTS", "-Xms128m -Xmx512m")
JVM = os.environ.get("KAFKA_JVM_OPTS", "-XX:+UseSerialGC -XX:TieredStopAtLevel=1")
# AppCDS archive (JDK 17 dynamic archive): first broker run dumps it at exit, later runs
# start ~1s faster. A stale/mismatched archive is ignored by the JVM. KAFKA_CDS=0 disables.
CDS = CACHE / "kafka-cds.jsa"


def fetch() -> None:
    if any(LIBS.glob("kafka_2.13-*.jar")):
        return
    subprocess.run(
        ["mvn", "-q", "-B", "-f", str(HERE / "pom.xml"), "dependency:copy-dependencies",
         "-DincludeScope=runtime", f"-DoutputDirectory={LIBS}"],
        check=True,
    )


def java_cmd(main: str, *args: str, root: Path, extra: str = "") -> list[str]:
    return ["java", *JVM.split(), *extra.split(), "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={HERE / 'log4j2.yaml'}",
            f"-Dkafka.logs.dir={root / 'logs'}",
            "-cp", f"{LIBS}/*", main, *args]


def api_versions_ok(port: int, timeout: float = 1.0) -> bool:
    """Readiness: a raw ApiVersions v0 request gets error_code 0.

    A bare TCP connect is not enough: Kafka binds its listener before it
    starts processing requests (it waits to be unfenced first).
    """
    client = b"ready"
    body = struct.pack(">hhih", 18, 0, 1, len(client)) + client
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(struct.pack(">i", len(body)) + body)
            head = s.recv(10)
            return len(head) >= 10 and struct.unpack(">iih", head[:10])[1:] == (1, 0)
    except OSError:
        return False


def start(root: Path, port: int, controller_port: int, timeout: float = 60.0) -> int:
    fetch()
    data, logs = root / "data", root / "logs"
    data.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    props = root / "server.properties"
    props.write_text((HERE / "server.properties.template").read_text().format(
        port=port, controller_port=controller_port, data_dir=data))
    if not (data / "meta.properties").exists():
        cluster_id = "-"
        while cluster_id.startswith("-"):  # same rule as Kafka's Uuid.randomUuid()
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        subprocess.run(java_cmd("kafka.tools.StorageTool", "format", "-t", cluster_id,
                                "-c", str(props), "--standalone", root=root),
                       check=True, stdout=subprocess.DEVNULL)
    out = open(logs / "broker.out", "ab")
    extra = HEAP
    if os.environ.get("KAFKA_CDS", "1") != "0":
        extra += " -Xlog:cds*=off"  # dump/skip warnings are noise
        extra += f" -XX:SharedArchiveFile={CDS}" if CDS.exists() else f" -XX:ArchiveClassesAtExit={CDS}"
    proc = subprocess.Popen(java_cmd("kafka.Kafka", str(props), root=root, extra=extra),
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    (root / "broker.pid").write_text(str(proc.pid))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"kafka exited with {proc.returncode}; see {logs}")
        if api_versions_ok(port):
            return proc.pid
        time.sleep(0.1)
    stop(root)
    raise TimeoutError(f"kafka not ready on port {port} after {timeout}s; see {logs}")


def stop(root: Path, timeout: float = 30.0) -> None:
    pidfile = root / "broker.pid"
    if not pidfile.exists():
        return
    pid = int(pidfile.read_text())
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:  # our child: reap it
                    break
            except ChildProcessError:  # not our child: poll for existence
                pass
            os.kill(pid, 0)
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    pidfile.unlink(missing_ok=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["fetch", "start", "stop"])
    ap.add_argument("--root", type=Path, default=CACHE / "run")
    ap.add_argument("--port", type=int, default=9092)
    ap.add_argument("--controller-port", type=int, default=9093)
    a = ap.parse_args()
    if a.cmd == "fetch":
        fetch()
    elif a.cmd == "start":
        t0 = time.monotonic()
        pid = start(a.root.resolve(), a.port, a.controller_port)
        print(f"kafka pid {pid} ready on 127.0.0.1:{a.port} in {time.monotonic() - t0:.2f}s")
    else:
        stop(a.root.resolve())


if __name__ == "__main__":
    sys.exit(main())
