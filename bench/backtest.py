"""The backtest's rate: ``hub backtest`` over a stored history of BENCH_BACKTEST_EVENTS events.

The history is the simulator's traffic (every event named by its customer id, no bad
records), written straight into a database of its own with COPY, as the recorder would
have stored it, with its customers' profiles. The backtest then replays it as
``hub backtest`` does by default: a changed copy of the shipped rules (the walk-in
referral's threshold raised) against the shipped rules, each with its own state, in
one process per core, timed from opening the connection to the report: BENCH_BACKTEST_RUNS
times (3), each in a fresh process, the median run reported. Run alone with
``python -m bench.backtest`` (it records a section of its own).
"""

import asyncio
import dataclasses
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import yaml

from bench import isolation
from bench.figures import BacktestRate
from bench.targets import backtest_verdict
from hub.backtest.run import BacktestOptions, run_backtest
from hub.errors import HubError
from hub.rules.loading import default_rules_text
from hub.settings import load_settings
from hub.simulate import TrafficGenerator
from hub.storage.admin import migrate_database

EVENTS = int(os.environ.get("BENCH_BACKTEST_EVENTS", "1000000"))
RUNS = int(os.environ.get("BENCH_BACKTEST_RUNS", "3"))
"""Runs of the one-rule change, the target's measurement: on a shared 2-core machine one
run's rate moves by ±20% from the next's, so the median run is the one reported."""
CUSTOMERS = 20_000
COPY_ROWS = 50_000
_COLUMNS = [
    "event_id",
    "customer_id",
    "channel",
    "type",
    "occurred_at",
    "received_at",
    "source",
    "payload",
    "identifiers",
    "kafka_topic",
    "kafka_partition",
    "kafka_offset",
]


def _stored_profiles(generator: TrafficGenerator) -> list[tuple[str, str, datetime]]:
    profiles = []
    for record in generator.profiles():
        profile = json.loads(record.value)
        profile["identifiers"] = {}  # the store keeps display forms only; a backtest reads none
        profiles.append(
            (profile["customer_id"], json.dumps(profile), datetime.fromisoformat(profile["updated_at"]))
        )
    return profiles


def _interaction_rows(generator: TrafficGenerator, events: int) -> Iterator[tuple[Any, ...]]:
    for offset, record in enumerate(generator.events(events)):
        event = json.loads(record.value)
        occurred = datetime.fromisoformat(event["occurred_at"])
        yield (
            event["event_id"],
            event["customer"]["customer_id"],
            event["channel"],
            event["type"],
            occurred,
            occurred + timedelta(seconds=1),
            json.dumps(event["source"]),
            json.dumps(event["payload"]),
            "{}",
            record.topic,
            0,
            offset,
        )


async def seed_history(url: str, events: int, seed: int = 11) -> None:
    """Write ``events`` simulated interactions and their customers' profiles with COPY."""
    start = datetime.now(UTC) - timedelta(seconds=3 * events + 3600)
    generator = TrafficGenerator(
        CUSTOMERS, seed=seed, start=start, bad_share=0, duplicate_share=0, by_customer_id=True
    )
    connection = await asyncpg.connect(url)
    try:
        await connection.copy_records_to_table(
            "customer_profiles",
            records=_stored_profiles(generator),
            columns=["customer_id", "profile", "updated_at"],
        )
        chunk: list[tuple[Any, ...]] = []
        for row in _interaction_rows(generator, events):
            chunk.append(row)
            if len(chunk) >= COPY_ROWS:
                await connection.copy_records_to_table("interactions", records=chunk, columns=_COLUMNS)
                chunk = []
        if chunk:
            await connection.copy_records_to_table("interactions", records=chunk, columns=_COLUMNS)
        # At rest, as a 90-day history is: vacuumed, its rows' hint bits and visibility
        # set. Left to autovacuum, that work (a pass over the million rows just copied)
        # lands in the middle of the measured runs, on the same two cores.
        await connection.execute("VACUUM (ANALYZE) interactions, customer_profiles")
    finally:
        await connection.close()


def changed_rules(folder: Path) -> Path:
    """The shipped rules with the walk-in referral's threshold raised to 100,000 USD (version 3)."""
    rules = yaml.safe_load(default_rules_text())
    walk_in = next(r for r in rules["rules"] if r["id"] == "high_value_walk_in_rm_referral")
    walk_in["version"] += 1
    walk_in["when"]["event"]["money_at_least"]["amount"] = "100000"
    path = folder / "changed.yaml"
    path.write_text(yaml.safe_dump(rules))
    return path


def every_rule_new(folder: Path) -> Path:
    """The shipped rules, each a version later: every rule differs, so every customer is
    replayed under both sets all through (the backtest's slowest case)."""
    rules = yaml.safe_load(default_rules_text())
    for rule in rules["rules"]:
        rule["version"] += 1
    path = folder / "every.yaml"
    path.write_text(yaml.safe_dump(rules))
    return path


CHANGES = {
    "one": (changed_rules, "the walk-in referral's threshold raised"),
    "every": (every_rule_new, "a new version of every rule"),
}


async def measure_backtest(jobs: int = os.cpu_count() or 1, change: str = "one") -> BacktestRate:
    """``hub backtest`` of a changed copy against the shipped rules over the configured database."""
    settings = load_settings().model_copy(update={"rules_file": None})
    write, described = CHANGES[change]
    cpu = _cpu_seconds()
    with tempfile.TemporaryDirectory() as folder:
        options = BacktestOptions(write(Path(folder)), jobs=jobs)
        report = await run_backtest(settings, options)
    decisions = sum(r.candidate.would_fire for r in report.rules if r.candidate is not None)
    return BacktestRate(
        events=report.events,
        customers=report.customers,
        seconds=report.seconds,
        cpu_seconds=_cpu_seconds() - cpu,
        peak_rss_bytes=max(_peak_rss(resource.RUSAGE_SELF), _peak_rss(resource.RUSAGE_CHILDREN)),
        decisions=decisions,
        jobs=jobs,
        change=described,
    )


def _cpu_seconds() -> float:
    # The parts run in child processes; theirs is counted once they have ended.
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _peak_rss(who: int) -> int:
    return resource.getrusage(who).ru_maxrss * 1024  # kilobytes on Linux


async def backtest_on_own_database(
    server: str, run: str, events: int = EVENTS
) -> tuple[BacktestRate, BacktestRate]:
    """Seed a database of the run's own with ``events``, measure the backtest of one
    changed rule, then of every rule changed, and drop the database."""
    name = f"{isolation.database_name(run)}_backtest"
    url = await isolation.create_database(server, name)
    previous = os.environ.get("HUB_DATABASE_URL")
    os.environ["HUB_DATABASE_URL"] = url
    try:
        await migrate_database(load_settings())
        began = time.monotonic()
        await seed_history(url, events)
        print(
            f"  backtest history seeded  : {events:,} events in {time.monotonic() - began:.0f} s", flush=True
        )
        return median_run([measured_in_a_process_of_its_own("one") for _ in range(RUNS)]), (
            measured_in_a_process_of_its_own("every")
        )
    finally:
        if previous is not None:
            os.environ["HUB_DATABASE_URL"] = previous
        await isolation.drop_database(server, name)


def median_run(runs: list[BacktestRate]) -> BacktestRate:
    """The run of the median rate (the slower middle one of an even number), with every
    run's rate: one run's own figures, CPU and memory with them, not a mix of runs."""
    ordered = sorted(runs, key=lambda run: run.rate)
    middle = ordered[(len(ordered) - 1) // 2]
    if len(ordered) == 1:
        return middle
    return dataclasses.replace(middle, rates=tuple(run.rate for run in ordered))


def measured_in_a_process_of_its_own(change: str) -> BacktestRate:
    """:func:`measure_backtest` in a fresh process: its CPU and resident memory are then the
    backtest's alone, not the seeding's (the generator holds the whole traffic in memory)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.backtest", "--measure", change],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise HubError(f"the backtest measurement failed: {done.stderr.strip()[-2000:]}")
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    return BacktestRate(**{**measured, "rates": tuple(measured["rates"])})


def main() -> None:
    """Only the backtest's rate, recorded in docs/benchmarks.md as a section of its own."""
    from bench.__main__ import REPORT, insert_run
    from bench.report import backtest_line, python_described

    run = f"bench-{uuid.uuid4().hex[:6]}"
    try:
        rate, every_rule = asyncio.run(backtest_on_own_database(load_settings().require_database_url(), run))
    except HubError as exc:
        sys.exit(f"bench: {exc}")
    verdict = backtest_verdict(rate)
    text = (
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — backtest only (`python -m bench.backtest`), "
        f"{platform.machine()}, {os.cpu_count()} cores, {python_described()}, PostgreSQL 18\n\n"
        f"Run `{run}`.\n\n{backtest_line(rate)}\n{backtest_line(every_rule)}\n\nTarget:\n\n"
        f"- {verdict.word}: {verdict.target} (measured: {verdict.measured})\n"
    )
    print(text)
    insert_run(REPORT, text)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:  # the measurement's own process (the database is configured)
        change = sys.argv[2] if len(sys.argv) > 2 else "one"
        print(json.dumps(dataclasses.asdict(asyncio.run(measure_backtest(change=change)))), flush=True)
    else:
        main()
