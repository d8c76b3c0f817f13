"""The core's compiled modules are used only while they are what their sources say.

``make compiled`` (tools/compile_core.py) writes an extension module beside each source
of the decision core and a manifest of the sources' SHA-256. The suite runs on what
``make test`` built; these tests check the choice between the two. The choice is made
when :mod:`hub.core` is imported, so each case runs in a fresh interpreter over a copy
of the packages in which the "extension module" is a file that fails to load if
imported: a case that imports it fails loudly instead of passing on the source.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import hub.core
import hub.core.fold
from tools.compile_core import MODULES, ROOT, source_digests

EXTENSION = sysconfig.get_config_var("EXT_SUFFIX")
PACKAGES = ("hub", "schemas")


def test_the_suite_runs_the_compiled_core_when_make_built_it() -> None:
    if os.environ.get("HUB_EXPECT_COMPILED") != "1":
        pytest.skip("make test and make unit ask for it once they have compiled the core")
    assert hub.core.COMPILED
    assert Path(hub.core.fold.__file__ or "").name.endswith(EXTENSION)


def test_the_manifest_names_every_compiled_module_by_its_source() -> None:
    digests = source_digests()
    assert len(digests) == len(MODULES)
    assert digests["hub.core.fold"] == hashlib.sha256((ROOT / "hub/core/fold.py").read_bytes()).hexdigest()


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The packages without any build, and a "build" of ``fold`` that cannot load."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.so", "*.json"))
    (tmp_path / "hub/core/fold.py").with_suffix(EXTENSION).write_bytes(b"not an extension module")
    return tmp_path


def _manifest(root: Path, **digests: str) -> None:
    (root / "hub/core/compiled.json").write_text(json.dumps({"modules": digests}))


def _digest(root: Path, path: str) -> str:
    return hashlib.sha256((root / path).read_bytes()).hexdigest()


def _import_fold(root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    code = "import hub.core, hub.core.fold as f; print(hub.core.COMPILED, f.__file__)"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root), "HUB_COMPILED": "", **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_a_build_that_matches_its_sources_is_the_one_imported(copy: Path) -> None:
    _manifest(copy, **{"hub.core.fold": _digest(copy, "hub/core/fold.py")})

    done = _import_fold(copy)

    assert done.returncode != 0, "the manifest matched, so the (unloadable) build was imported"
    assert "fold" in done.stderr


def test_an_edited_source_is_imported_instead_of_its_stale_build_and_the_terminal_says_so(copy: Path) -> None:
    _manifest(copy, **{"hub.core.fold": _digest(copy, "hub/core/fold.py")})
    with (copy / "hub/core/fold.py").open("a") as source:
        source.write("\n# an edit after the build\n")

    done = _import_fold(copy)

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", str(copy / "hub/core/fold.py")]
    assert "fold changed since they were compiled" in done.stderr
    assert "make compiled" in done.stderr


def test_one_stale_module_keeps_every_other_build_out_too(copy: Path) -> None:
    # Compiled modules call one another directly: fold's build must not load beside a stale decide.
    _manifest(
        copy,
        **{
            "hub.core.fold": _digest(copy, "hub/core/fold.py"),
            "hub.core.decide": "0" * 64,
        },
    )
    (copy / "hub/core/decide.py").with_suffix(EXTENSION).write_bytes(b"not an extension module")

    done = _import_fold(copy)

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", str(copy / "hub/core/fold.py")]
    assert "decide changed" in done.stderr


def test_a_missing_extension_module_counts_as_stale(copy: Path) -> None:
    _manifest(
        copy,
        **{
            "hub.core.fold": _digest(copy, "hub/core/fold.py"),
            "hub.core.decide": _digest(copy, "hub/core/decide.py"),
        },
    )

    done = _import_fold(copy)

    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "False"


def test_extension_modules_left_without_a_manifest_are_never_loaded(copy: Path) -> None:
    done = _import_fold(copy)

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", str(copy / "hub/core/fold.py")]
    assert done.stderr == ""


def test_hub_compiled_0_runs_the_sources_of_a_build_that_matches(copy: Path) -> None:
    _manifest(copy, **{"hub.core.fold": _digest(copy, "hub/core/fold.py")})

    done = _import_fold(copy, HUB_COMPILED="0")

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", str(copy / "hub/core/fold.py")]
    assert done.stderr == ""
