"""The bench's reading of /proc: CPU ticks of a process and of the processes below it."""

import os
import time
from pathlib import Path

from bench import cpu


def test_parse_stat_reads_ppid_and_times_after_a_name_with_spaces_and_parentheses() -> None:
    line = "4242 (python -m (x) y) S 17 4242 4242 0 -1 4194304 100 0 0 0 250 30 7 3 20 0 5 0\n"

    stat = cpu.parse_stat(line)

    assert (stat.ppid, stat.utime, stat.stime, stat.cutime, stat.cstime) == (17, 250, 30, 7, 3)
    assert stat.ticks == 290


def test_descendants_are_the_whole_subtree_and_nothing_else() -> None:
    parents = {1: 0, 10: 1, 11: 10, 12: 10, 13: 11, 20: 1, 21: 20}

    assert cpu.descendants(10, parents) == {11, 12, 13}
    assert cpu.descendants(13, parents) == set()
    assert cpu.descendants(99, parents) == set()


def test_tree_cpu_seconds_of_this_process_grows_with_work() -> None:
    before = cpu.tree_cpu_seconds([os.getpid()])
    began = time.process_time()
    while time.process_time() - began < 0.1:
        sum(range(1000))

    assert cpu.tree_cpu_seconds([os.getpid()]) - before >= 0.05
    assert cpu.tree_cpu_seconds([2**22 + 1]) == 0.0  # no such process


def test_a_window_reports_micros_per_event_of_what_it_measured() -> None:
    window = cpu.CpuWindow({"me": os.getpid(), "absent": None}).start()
    seconds = window.stop()

    assert set(seconds) == {"me", "self"}
    assert window.micros_per("absent", 100) is None
    assert window.micros_per("me", 0) is None
    assert window.micros_per("me", 100) is not None


def test_rss_of_this_process_is_read() -> None:
    assert cpu.rss_bytes(os.getpid()) > 1_000_000


def test_a_pid_file_counts_only_when_its_process_runs_that_command(tmp_path: Path) -> None:
    pidfile = tmp_path / "broker.pid"
    pidfile.write_text(f"{os.getpid()}\n")

    assert cpu._pid_in(pidfile, b"python") == os.getpid()
    assert cpu._pid_in(pidfile, b"kafka.Kafka") is None
    assert cpu._pid_in(tmp_path / "missing.pid", b"python") is None
