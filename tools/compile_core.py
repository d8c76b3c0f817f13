"""Compile the pure decision core with mypyc, in place: ``make compiled`` (``make install`` runs it).

The worker decides every live event, and a backtest replays every stored one, through the
same fold, rules and policy: typed Python (mypy --strict), which mypyc compiles into C
extension modules that run the same code in about two thirds of the CPU time (an
in-memory replay of 100,374 stored events, the one-rule change of ``make bench``: 17-21
µs per event compiled, 26-29 from the sources, alternating runs; see docs/benchmarks.md).
Run from the repository root::

    .venv/bin/python -m tools.compile_core          # build; prints what it did
    .venv/bin/python -m tools.compile_core --clean  # remove the compiled modules

Each extension module is written next to its source (``hub/core/fold.cpython-311-….so``,
ignored by git), with the group's shared library (``hub/core/compiled__mypyc…``) and a
manifest of the sources compiled (``hub/core/compiled.json``, their SHA-256). The core's
package (:mod:`hub.core`) uses the compiled modules only while every source is the one
compiled, and the Python sources otherwise: an edited module is never shadowed by a stale
build. Without a C compiler or mypyc the build says so and exits 1; the hub then runs its
Python sources, the same code, slower.

Not compiled, each for a reason found by its tests: :mod:`hub.core.state_parts` (msgspec
decodes nested structs of a compiled module as dicts), :mod:`hub.core.money` (its
exception subclasses KeyError, which mypyc does not compile), and the modules off the
hot path.
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "hub" / "core"
MANIFEST = CORE / "compiled.json"
EXTENSION = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
"""How this interpreter's extension modules end (``.cpython-311-x86_64-linux-gnu.so``)."""
GROUP = "hub.core.compiled"
"""The group's shared library is the extension module ``hub.core.compiled__mypyc``."""

MODULES = (
    "hub/core/fold.py",
    "hub/core/decide.py",
    "hub/core/policy.py",
    "hub/core/state.py",
    "hub/core/records.py",
    "hub/core/drafts.py",
    "hub/core/groups.py",
    "hub/core/tiers.py",
    "hub/core/rules/engine.py",
    "hub/core/rules/matching.py",
    "hub/core/backtest/replay.py",
    "hub/core/backtest/session.py",
    "hub/core/backtest/change.py",
    "hub/core/backtest/tally.py",
)
"""What a decision and a replay run through, per event."""


def source_digests(modules: tuple[str, ...] = MODULES) -> dict[str, str]:
    """Module name -> SHA-256 of its source, as the manifest records them."""
    return {
        path.removesuffix(".py").replace("/", "."): hashlib.sha256((ROOT / path).read_bytes()).hexdigest()
        for path in modules
    }


def compiled_files() -> list[Path]:
    """The extension modules of a build (and its shared library), wherever they are in the core."""
    return sorted(CORE.rglob(f"*{EXTENSION}"))


def clean() -> list[Path]:
    removed = [*compiled_files(), *([MANIFEST] if MANIFEST.exists() else [])]
    for path in removed:
        path.unlink()
    return removed


def build() -> list[Path]:
    """Compile :data:`MODULES` into extension modules next to their sources; write the manifest."""
    clean()  # a half-replaced build must never be loaded: the manifest goes last
    with tempfile.TemporaryDirectory(prefix="hub-mypyc-") as folder:
        work = Path(folder)
        script = work / "setup.py"
        script.write_text(_BUILD_SCRIPT)
        command = [
            sys.executable,
            str(script),
            str(ROOT / "pyproject.toml"),
            str(work / "c"),
            GROUP,
            *[str(ROOT / m) for m in MODULES],
        ]
        args = ["build_ext", "--build-lib", str(work / "lib"), "--build-temp", str(work / "tmp")]
        done = subprocess.run(
            [*command, "--", *args],
            cwd=work,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        if done.returncode != 0:
            raise SystemExit(
                "compile_core: mypyc could not build the core; the hub runs its Python sources "
                f"(the same code, slower). Its output ends:\n{(done.stdout + done.stderr)[-3000:]}"
            )
        for extension in (work / "lib").rglob(f"*{EXTENSION}"):
            target = ROOT / extension.relative_to(work / "lib")
            shutil.copy2(extension, target)
    MANIFEST.write_text(json.dumps({"group": GROUP, "modules": source_digests()}, indent=2) + "\n")
    return compiled_files()


# setuptools runs this in a folder of its own, away from the project's pyproject.toml
# (which the venv's setuptools would try to read as its own configuration).
_BUILD_SCRIPT = """
import sys
from setuptools import setup
from mypyc.build import mypycify

separator = sys.argv.index("--")
config, target, group, *sources = sys.argv[1:separator]
sys.argv = [sys.argv[0], *sys.argv[separator + 1 :]]
setup(
    name="hub-core-compiled",
    ext_modules=mypycify([f"--config-file={config}", *sources], target_dir=target, group_name=group),
)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clean", action="store_true", help="remove the compiled modules and the manifest")
    options = parser.parse_args()
    if options.clean:
        removed = clean()
        print(f"compile_core: removed {len(removed)} file(s); the hub runs its Python sources")
        return
    built = build()
    print(f"compile_core: {len(MODULES)} modules of the core compiled ({len(built)} extension modules)")


if __name__ == "__main__":
    main()
