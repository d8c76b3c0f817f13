"""py-spy on the worker for the measured window: collapsed stacks and the top functions.

The stacks are written as ``frame;frame;... count`` lines (the "collapsed" format that
flamegraph.pl and speedscope read), one per distinct stack, sorted by stack so that two
runs' files diff line by line. py-spy samples without pausing the worker
(``--nonblocking``) and leaves idle threads out, so the samples say where the worker's
CPU went.
"""

import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

RATE_HZ = 100
STOP_TIMEOUT_S = 30


def parse_collapsed(text: str) -> Counter[str]:
    """``stack count`` lines -> samples per stack (malformed lines are skipped)."""
    stacks: Counter[str] = Counter()
    for line in text.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if stack and count.isdigit():
            stacks[stack] += int(count)
    return stacks


def render_collapsed(stacks: Counter[str]) -> str:
    return "".join(f"{stack} {count}\n" for stack, count in sorted(stacks.items()))


@dataclass(frozen=True, slots=True)
class FunctionSamples:
    function: str
    own: int
    """Samples with this function on top of the stack."""
    total: int
    """Samples with this function anywhere on the stack."""


def top_functions(stacks: Counter[str], n: int) -> list[FunctionSamples]:
    """The ``n`` functions with the most samples of their own, most first."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for stack, count in stacks.items():
        frames = stack.split(";")
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    ranked = sorted(own.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [FunctionSamples(function, samples, total[function]) for function, samples in ranked]


@dataclass(frozen=True, slots=True)
class Profile:
    path: Path | None
    stacks: Counter[str]
    problem: str | None = None
    """Why there is no profile, when there is none."""

    @property
    def samples(self) -> int:
        return sum(self.stacks.values())


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


class Profiler:
    """``py-spy record`` attached to one process from start() until stop()."""

    def __init__(self, pid: int, output: Path) -> None:
        self._pid = pid
        self._output = output
        self._scratch = Path(tempfile.mkdtemp(prefix="bench-py-spy-"))
        self._raw = self._scratch / "stacks.txt"
        self._stderr = self._scratch / "stderr.txt"
        self.process: subprocess.Popen[bytes] | None = None
        self.problem: str | None = None

    def start(self) -> "Profiler":
        command = py_spy()
        if command is None:
            self.problem = "py-spy is not installed (it is in the dev extra: make install)"
            return self
        with self._stderr.open("wb") as stderr:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [
                    command,
                    "record",
                    "--pid",
                    str(self._pid),
                    "--rate",
                    str(RATE_HZ),
                    "--format",
                    "raw",
                    "--nolineno",
                    "--nonblocking",
                    "--output",
                    str(self._raw),
                ],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        return self

    def stop(self) -> Profile:
        if self.process is None:
            return Profile(None, Counter(), self.problem)
        exited_early = self.process.poll() is not None
        if not exited_early:
            self.process.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        stacks = parse_collapsed(self._raw.read_text()) if self._raw.exists() else Counter()
        problem = None if stacks else self._failure(exited_early)
        shutil.rmtree(self._scratch, ignore_errors=True)
        if problem is not None:
            return Profile(None, stacks, problem)
        self._output.parent.mkdir(parents=True, exist_ok=True)
        self._output.write_text(render_collapsed(stacks))
        return Profile(self._output, stacks)

    def _failure(self, exited_early: bool) -> str:
        said = self._stderr.read_text(errors="replace") if self._stderr.exists() else ""
        lines = [line for line in said.splitlines() if line.strip()]
        said = next((line for line in lines if "Error" in line), lines[-1] if lines else "")
        when = "exited before the window ended" if exited_early else "recorded no samples"
        return f"py-spy {when} (code {self.process.returncode if self.process else '?'}): {said.strip()}"
