"""CPU time and resident memory of processes, read from ``/proc`` (Linux).

A process's CPU time here is its own utime + stime, plus the CPU time of its children
that ended (cutime + cstime), plus that of its live descendants: so a window measured
between two samples counts a worker's helper processes too, whether they ended in the
window or not.
"""

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from hub.infra import local

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Stat:
    """The fields of ``/proc/<pid>/stat`` that the bench reads, times in clock ticks."""

    ppid: int
    utime: int
    stime: int
    cutime: int
    cstime: int

    @property
    def ticks(self) -> int:
        return self.utime + self.stime + self.cutime + self.cstime


def parse_stat(text: str) -> Stat:
    """Parse one ``/proc/<pid>/stat`` line; the command name may hold spaces and parentheses."""
    fields = text[text.rindex(")") + 2 :].split()
    # After the name: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17).
    return Stat(int(fields[1]), int(fields[11]), int(fields[12]), int(fields[13]), int(fields[14]))


def read_stat(pid: int) -> Stat | None:
    try:
        return parse_stat((PROC / str(pid) / "stat").read_text())
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return None


def descendants(root: int, parents: Mapping[int, int]) -> set[int]:
    """The pids below ``root`` in a pid -> parent pid map (the root itself excluded)."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _all_stats() -> dict[int, Stat]:
    stats = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (stat := read_stat(int(entry.name))) is not None:
            stats[int(entry.name)] = stat
    return stats


def tree_cpu_seconds(roots: Iterable[int]) -> float:
    """CPU seconds of the processes ``roots`` and their descendants, so far (0 for a gone one)."""
    stats = _all_stats()
    parents = {pid: stat.ppid for pid, stat in stats.items()}
    pids: set[int] = set()
    for root in roots:
        if root in stats:
            pids |= {root} | descendants(root, parents)
    return sum(stats[pid].ticks for pid in pids) / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    """Resident memory of one process (``VmRSS`` of ``/proc/<pid>/status``)."""
    for line in (PROC / str(pid) / "status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def _pid_in(path: Path, command: bytes) -> int | None:
    """The pid on the first line of a pid file, if that process is alive and its command
    line holds ``command`` (a stale pid file may name a reused pid)."""
    try:
        pid = int(path.read_text().split()[0])
        cmdline = (PROC / str(pid) / "cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return None
    return pid if command in cmdline else None


def broker_pid() -> int | None:
    """The local broker started by ``hub infra up`` (its pid file, as hub.infra.local lays it)."""
    return _pid_in(local.kafka().root / "broker.pid", b"kafka.Kafka")


def postgres_pid() -> int | None:
    """The local PostgreSQL's postmaster; its backends are its children."""
    return _pid_in(local.postgres().data / "postmaster.pid", b"postgres")


class CpuWindow:
    """CPU seconds used by named processes (and by this one) between start() and stop()."""

    def __init__(self, pids: Mapping[str, int | Iterable[int] | None]) -> None:
        self._pids = {name: _as_list(pid) for name, pid in pids.items()}
        self._start: dict[str, float] = {}
        self.seconds: dict[str, float] = {}

    def _sample(self) -> dict[str, float]:
        sample = {name: tree_cpu_seconds(pids) for name, pids in self._pids.items() if pids}
        sample["self"] = time.process_time()
        return sample

    def start(self) -> "CpuWindow":
        self._start = self._sample()
        return self

    def stop(self) -> dict[str, float]:
        end = self._sample()
        self.seconds = {name: end[name] - self._start[name] for name in self._start}
        return self.seconds

    def micros_per(self, name: str, events: int) -> float | None:
        """CPU µs per event of one process in the window; None when it was not measured."""
        seconds = self.seconds.get(name)
        return None if seconds is None or events <= 0 else seconds * 1e6 / events


def _as_list(pid: int | Iterable[int] | None) -> list[int]:
    if pid is None:
        return []
    return [pid] if isinstance(pid, int) else list(pid)
