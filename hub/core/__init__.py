"""The pure decision core: no I/O, no clocks read, no Kafka or PostgreSQL imports.

Everything here is a function of its arguments so that the agents, the tests and a
replay all get the same answer from the same input.

The modules every decision runs through may be compiled by mypyc (``make compiled``,
tools/compile_core.py): the same code as their sources, in about two thirds of the CPU time.
The compiled modules are used only while every source is the one compiled (the SHA-256
of each in ``compiled.json``); after an edit, or with ``HUB_COMPILED=0``, the Python
sources are imported instead, all of them: the compiled modules call one another
directly, so one stale module means none can be used. :data:`COMPILED` says which.
"""

import hashlib
import json
import os
import sys
import sysconfig
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from importlib.util import spec_from_file_location
from pathlib import Path
from types import ModuleType

_HERE = Path(__file__).resolve().parent
_ROOT = _HERE.parent.parent
_MANIFEST = _HERE / "compiled.json"
_EXTENSION = sysconfig.get_config_var("EXT_SUFFIX") or ".so"


def _stale_sources() -> list[str] | None:
    """The compiled modules whose source changed since the build, or whose extension
    module is missing (None: no build)."""
    try:
        built: dict[str, str] = json.loads(_MANIFEST.read_text())["modules"]
    except (OSError, ValueError, KeyError):
        return None
    stale = []
    for module, digest in built.items():
        source = _ROOT / (module.replace(".", "/") + ".py")
        try:
            extension = source.with_suffix(_EXTENSION)
            if not extension.is_file() or hashlib.sha256(source.read_bytes()).hexdigest() != digest:
                stale.append(module)
        except OSError:
            stale.append(module)
    return stale


class _SourcesOnly(MetaPathFinder):
    """Imports each module of the core from its ``.py`` file, never an extension module beside it."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if not fullname.startswith(f"{__name__}."):
            return None
        source = _ROOT / (fullname.replace(".", "/") + ".py")
        return spec_from_file_location(fullname, source) if source.is_file() else None


def _choose() -> bool:
    stale = _stale_sources()
    if stale is None:
        # No build: nothing to shadow a source, unless extension modules were left without
        # their manifest (an interrupted build), which are then never loaded either.
        sys.meta_path.insert(0, _SourcesOnly())
        return False
    if stale:
        changed = ", ".join(m.removeprefix("hub.core.") for m in stale)
        print(
            f"hub: the core's Python sources are used, not its compiled modules: {changed} changed "
            "since they were compiled (run `make compiled` to compile them again)",
            file=sys.stderr,
        )
    if stale or os.environ.get("HUB_COMPILED") == "0":
        sys.meta_path.insert(0, _SourcesOnly())
        return False
    return True


COMPILED = _choose()
"""Whether the core's compiled modules are the ones imported."""
