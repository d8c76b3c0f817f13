"""The backtest's rate: ``hub backtest`` over a stored history of BENCH_BACKTEST_EVENTS events.

The history is the simulator's traffic (every event named by its customer id, no bad
records), written straight into a database of its own with COPY, as the recorder would
have stored it. The backtest then replays it under the shipped rules twice over (as the
candidate and as the rules in force, each with its own state: what ``hub backtest``
always does), from a fresh process state, timed from opening the connection to the
report. Run alone with ``python -m bench.backtest`` (it records its own section).
"""

import asyncio
import json
import os
import resource
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench import isolation
from hub.backtest.run import BacktestOptions, run_backtest
from hub.rules.loading import DEFAULT_RULES
from hub.settings import load_settings
from hub.simulate import TrafficGenerator
from hub.storage.admin import migrate_database

EVENTS = int(os.environ.get("BENCH_BACKTEST_EVENTS", "1000000"))
CUSTOMERS = 20_000
COPY_ROWS = 50_000
DEFAULT_RULES_FILE = Path(__file__).resolve().parents[1] / "hub" / "rules" / DEFAULT_RULES


@dataclass(frozen=True, slots=True)
class BacktestRate:
    events: int
    customers: int
    seconds: float
    cpu_seconds: float
    """This process's user + system time over the replay (PostgreSQL's is not in it)."""
    peak_rss_bytes: int
    decisions: int

    @property
    def rate(self) -> float:
        return self.events / self.seconds


class _KeyedByCustomer(TrafficGenerator):
    """The simulator's traffic with every event named by its customer id (no identity to resolve)."""

    def _known_by(self, channel: str, n: int) -> tuple[str, str] | None:
        return None


def _interaction_rows(events: int, seed: int, start: datetime) -> tuple[list[Any], Iterator[tuple[Any, ...]]]:
    generator = _KeyedByCustomer(CUSTOMERS, seed=seed, start=start, bad_share=0, duplicate_share=0)
    profiles = []
    for record in generator.profiles():
        profile = json.loads(record.value)
        profile["identifiers"] = {}  # the store keeps display forms only; a backtest reads none
        profiles.append(
            (profile["customer_id"], json.dumps(profile), datetime.fromisoformat(profile["updated_at"]))
        )

    def rows() -> Iterator[tuple[Any, ...]]:
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

    return profiles, rows()


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


async def seed_history(url: str, events: int, seed: int = 11) -> None:
    """Write ``events`` simulated interactions and their customers' profiles with COPY."""
    start = datetime.now(UTC) - timedelta(seconds=3 * events + 3600)
    profiles, rows = _interaction_rows(events, seed, start)
    connection = await asyncpg.connect(url)
    try:
        await connection.copy_records_to_table(
            "customer_profiles", records=profiles, columns=["customer_id", "profile", "updated_at"]
        )
        chunk: list[tuple[Any, ...]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= COPY_ROWS:
                await connection.copy_records_to_table("interactions", records=chunk, columns=_COLUMNS)
                chunk = []
        if chunk:
            await connection.copy_records_to_table("interactions", records=chunk, columns=_COLUMNS)
        await connection.execute("ANALYZE interactions")
    finally:
        await connection.close()


async def measure_backtest() -> BacktestRate:
    """``hub backtest`` of the shipped rules against themselves over the configured database."""
    settings = load_settings().model_copy(update={"rules_file": None})
    decisions = 0

    def count(_: object, replayed: Any) -> None:
        nonlocal decisions
        decisions += len(replayed.candidate)

    cpu = time.process_time()
    report = await run_backtest(settings, BacktestOptions(DEFAULT_RULES_FILE), on_replayed=count)
    return BacktestRate(
        events=report.events,
        customers=report.customers,
        seconds=report.seconds,
        cpu_seconds=time.process_time() - cpu,
        peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        decisions=decisions,
    )


def backtest_line(rate: BacktestRate) -> str:
    return (
        "- Backtest (`hub backtest`, shipped rules as candidate and as rules in force) over a stored "
        f"history of {rate.events:,} events of {rate.customers:,} customers: {rate.rate:,.0f} events/s "
        f"({rate.seconds:.1f} s; this process's CPU "
        f"{rate.cpu_seconds * 1e6 / max(rate.events, 1):.0f} µs/event; "
        f"peak RSS {rate.peak_rss_bytes / 2**20:,.0f} MB; {rate.decisions:,} decisions per rule set)."
    )


async def backtest_on_own_database(server: str, run: str, events: int = EVENTS) -> BacktestRate:
    """Seed a database of the run's own with ``events``, measure, drop it."""
    name = f"{isolation.database_name(run)}_backtest"
    url = await isolation.create_database(server, name)
    previous = os.environ.get("HUB_DATABASE_URL")
    os.environ["HUB_DATABASE_URL"] = url
    try:
        await migrate_database(load_settings())
        began = time.monotonic()
        await seed_history(url, events)
        print(
            f"  backtest history seeded : {events:,} events in {time.monotonic() - began:.0f} s", flush=True
        )
        return await measure_backtest()
    finally:
        if previous is not None:
            os.environ["HUB_DATABASE_URL"] = previous
        await isolation.drop_database(server, name)


def main() -> None:
    """Only the backtest's rate, recorded in docs/benchmarks.md as a section of its own."""
    import platform
    import sys
    import uuid

    from bench.__main__ import REPORT, insert_run
    from hub.errors import HubError

    run = f"bench-{uuid.uuid4().hex[:6]}"
    try:
        rate = asyncio.run(backtest_on_own_database(load_settings().require_database_url(), run))
    except HubError as exc:
        sys.exit(f"bench: {exc}")
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = (
        f"## {when} — backtest only (`python -m bench.backtest`), {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL on the same machine\n\n"
        f"Run `{run}`.\n\n{backtest_line(rate)}\n- Target: {judge_backtest(rate)}\n"
    )
    print(text)
    insert_run(REPORT, text)


TARGET_EVENTS_PER_S = 50_000


def judge_backtest(rate: BacktestRate) -> str:
    met = rate.rate >= TARGET_EVENTS_PER_S
    return (
        f"{'met' if met else '**missed**'}: backtest ≥ {TARGET_EVENTS_PER_S:,} stored events/s "
        f"(measured: {rate.rate:,.0f})"
    )


if __name__ == "__main__":
    main()
