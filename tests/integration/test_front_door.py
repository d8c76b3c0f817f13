"""A clone in a private (0700) folder, as a new user on a fresh machine has it.

Root's home folder is 0700 there, and PostgreSQL runs as an unprivileged user who cannot
reach into it. `hub infra up` must still work, and must not loosen the mode of any folder
above the ones it creates. The clone here is the project's code with a venv of its own
holding the PostgreSQL binaries, like `make install` leaves it; it reuses the suite's
installed libraries and Kafka jars, and runs on ports of its own.
"""

import os
import shutil
import site
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from hub.infra.postgres import wheel_dir
from hub.readiness import free_port, listening, wait_until_ready

pytestmark = pytest.mark.slow

PROJECT = Path(__file__).resolve().parents[2]
KAFKA_PORT, POSTGRES_PORT = 29192, 29432  # below the ephemeral range


@dataclass
class PrivateClone:
    home: Path
    clone: Path
    python: Path
    shared: Path

    def env(self, **extra: str) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        return {
            **keep,
            "HUB_INFRA_KAFKA_PORT": str(KAFKA_PORT),
            "HUB_INFRA_POSTGRES_PORT": str(POSTGRES_PORT),
            "HUB_CACHE_DIR": str(PROJECT / ".cache"),
            "HUB_INFRA_SHARED_DIR": str(self.shared),
            **extra,
        }

    def hub(self, *args: str, env: dict[str, str]) -> "subprocess.CompletedProcess[str]":
        command = [str(self.python), "-c", "from hub.cli import main; main()", *args]
        return subprocess.run(command, cwd=self.clone, env=env, capture_output=True, text=True, timeout=180)


def _modes(path: Path) -> dict[Path, int]:
    return {folder: folder.stat().st_mode & 0o7777 for folder in [path, *path.parents]}


def _open_folder(prefix: str) -> Path:
    # Outside pytest's own temporary folders, which are private too.
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    folder.chmod(0o755)
    return folder


@pytest.fixture
def private_clone(tmp_path: Path) -> Iterator[PrivateClone]:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    home.chmod(0o700)
    clone = home / "interaction-hub"
    for part in ("hub", "agents", "schemas", "bench", "deploy"):
        shutil.copytree(PROJECT / part, clone / part, ignore=shutil.ignore_patterns("__pycache__"))
    venv = clone / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    packages = next(venv.glob("lib/python*/site-packages"))
    # The suite's libraries through a .pth, the PostgreSQL wheel copied in: its binaries
    # then sit inside the private folder, as a real install puts them.
    (packages / "suite.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    wheel = wheel_dir()
    for name in (wheel.name, f"{wheel.name}.libs"):
        if (wheel.parent / name).exists():
            shutil.copytree(wheel.parent / name, packages / name, symlinks=True)
    shared = _open_folder("hub-shared-")
    under_test = PrivateClone(home, clone, venv / "bin" / "python", shared)
    yield under_test
    for infra in (clone / ".infra", shared / "outside-infra"):
        under_test.hub("infra", "down", "--purge", env=under_test.env(HUB_INFRA_DIR=str(infra)))
    shutil.rmtree(shared, ignore_errors=True)


def _exports(output: str) -> dict[str, str]:
    pairs = (line.removeprefix("export ").split("=", 1) for line in output.splitlines())
    return dict(pair for pair in pairs if len(pair) == 2)


async def _database_answers(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        return int(await connection.fetchval("SELECT 1"))
    finally:
        await connection.close()


@pytest.mark.parametrize("infra", ["default", "outside"])
async def test_infra_up_in_a_private_folder_leaves_its_mode_alone(
    private_clone: PrivateClone, infra: str
) -> None:
    extra = {} if infra == "default" else {"HUB_INFRA_DIR": str(private_clone.shared / "outside-infra")}
    env = private_clone.env(**extra)
    before = _modes(private_clone.clone)

    started = private_clone.hub("infra", "up", env=env)

    assert started.returncode == 0, started.stderr
    assert "Traceback" not in started.stderr
    assert _modes(private_clone.clone) == before
    assert private_clone.home.stat().st_mode & 0o777 == 0o700
    settings = _exports(started.stdout)
    assert await _database_answers(settings["HUB_DATABASE_URL"]) == 1
    if os.geteuid() == 0:  # only root's server runs as another user, who needs the shared folder
        assert str(private_clone.shared) in started.stderr

    stopped = private_clone.hub("infra", "down", env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert not listening(POSTGRES_PORT)
    assert not listening(KAFKA_PORT)
    assert _modes(private_clone.clone) == before


def test_bench_preparation_readies_a_worker_on_an_empty_infra_folder(private_clone: PrivateClone) -> None:
    started = private_clone.hub("infra", "up", env=private_clone.env())
    assert started.returncode == 0, started.stderr
    env = private_clone.env(**_exports(started.stdout))

    prepared = subprocess.run(
        [str(private_clone.python), "-m", "bench", "--prepare"],
        cwd=private_clone.clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert prepared.returncode == 0, prepared.stderr

    port = free_port()
    worker_env = {**env, "HUB_WEB_PORT": str(port), "HUB_DATA_DIR": ".hub-data/bench-check"}
    worker = subprocess.Popen(
        [str(private_clone.python), "-c", "from hub.cli import main; main()", "worker"],
        cwd=private_clone.clone,
        env=worker_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_ready(worker, port, timeout_s=90, log_hint="the worker of the private clone")
    finally:
        worker.terminate()
        worker.wait(60)
