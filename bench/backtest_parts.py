"""What each part of a backtest costs per stored event, each measured alone.

``python -m bench.backtest_parts`` seeds a database of its own as ``make bench`` does
(BENCH_BACKTEST_EVENTS events), then measures, one at a time on the idle machine:

1. PostgreSQL's work for the events query (``EXPLAIN (ANALYZE)``: the sort by customer
   and the JSON of each event), without sending the rows;
2. the reader alone in one process: fetching and decoding every event, no replay;
3. the replay alone, in memory, of the first REPLAY_CUSTOMERS customers: under the
   one-rule change of the bench and under a new version of every rule (best of three,
   process CPU), with how many of the customers the one-rule change forks.

The whole backtest's rate is ``make bench``'s; these say where its CPU goes, steadier
than the rate on a shared machine (see docs/benchmarks.md).
"""

import asyncio
import os
import re
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg

from bench import isolation
from bench.backtest import CHANGES, EVENTS, seed_history
from hub.backtest.replaying import (
    decision_config,
    garbage_collected_seldom,
    horizons_of,
    new_backtest,
    shard_function,
)
from hub.backtest.run import BacktestOptions, load_rule_sets
from hub.core.backtest.change import RuleChange
from hub.core.backtest.replay import CustomerHistory
from hub.errors import HubError
from hub.settings import Settings, load_settings
from hub.storage.admin import migrate_database
from hub.storage.history import HistoryStore
from hub.storage.history_replay import READING_SETTINGS, Selection, events_query, replay_reader

REPLAY_CUSTOMERS = 2_000
TRIES = 3


async def server_seconds(url: str) -> float:
    """PostgreSQL's execution time of the events query over the whole history."""
    connection = await asyncpg.connect(url)
    try:
        async with connection.transaction(readonly=True):
            for setting in READING_SETTINGS:  # as the reader's transaction has them
                await connection.execute(setting)
            plan = await connection.fetch(f"EXPLAIN (ANALYZE, TIMING OFF) {events_query()}", *[None] * 5)
    finally:
        await connection.close()
    found = re.search(r"Execution Time: ([0-9.]+) ms", "\n".join(row[0] for row in plan))
    assert found is not None, "EXPLAIN ANALYZE gives an execution time"
    return float(found.group(1)) / 1000


async def reading_cpu(settings: Settings) -> tuple[int, float, float]:
    """(events, CPU seconds, wall seconds) of the reader alone over the whole history."""
    events = 0
    async with (
        HistoryStore.connected(settings.require_database_url()) as store,
        replay_reader(store, Selection()) as reader,
    ):
        cpu, wall = time.process_time(), time.monotonic()
        declined_for = timedelta(days=settings.policy.declined_days)
        async for history in reader.customers(shard_function(settings), declined_for):
            events += len(history.events)
        return events, time.process_time() - cpu, time.monotonic() - wall


async def first_histories(
    settings: Settings, customers: int
) -> tuple[dict[int, datetime], list[CustomerHistory]]:
    """The first ``customers`` histories, read into memory, with the shards' horizons."""
    async with (
        HistoryStore.connected(settings.require_database_url()) as store,
        replay_reader(store, Selection(first_customers=customers)) as reader,
    ):
        outline = await reader.outline(shard_function(settings))
        declined_for = timedelta(days=settings.policy.declined_days)
        return horizons_of(outline), [
            h async for h in reader.customers(shard_function(settings), declined_for)
        ]


def replay_cpu(
    settings: Settings, change: str, horizons: dict[int, datetime], histories: Sequence[CustomerHistory]
) -> tuple[float, int]:
    """(best CPU seconds of TRIES replays of ``histories``, customers the change forks)."""
    write, _ = CHANGES[change]
    with tempfile.TemporaryDirectory() as folder:
        candidate, current = load_rule_sets(settings, BacktestOptions(write(Path(folder))))
    change_made = RuleChange(decision_config(settings, candidate), decision_config(settings, current))
    forked = sum(change_made.first_acted_on(h) is not None for h in histories)
    best = float("inf")
    for _ in range(TRIES):
        backtest = new_backtest(settings, candidate, current, horizons, None)
        began = time.process_time()
        for history in histories:
            backtest.add(history)
        best = min(best, time.process_time() - began)
    return best, forked


@dataclass(frozen=True)
class ReplayCost:
    described: str
    cpu_us: float
    """Process CPU per replayed event, best of TRIES."""
    forked: int
    """Customers the change acts on (replayed under both rule sets from that event on)."""


@dataclass(frozen=True)
class PartCosts:
    events: int
    server_us: float
    reading_us: float
    reading_wall_s: float
    customers: int
    """Those of the in-memory replay."""
    replayed_events: int
    replays: list[ReplayCost]

    def lines(self) -> list[str]:
        found = [
            f"- PostgreSQL, the events query: {self.server_us:.1f} µs/event",
            f"- reading and decoding alone, one process: {self.reading_us:.1f} µs/event of CPU "
            f"({self.events:,} events, {self.reading_wall_s:.1f} s)",
        ]
        for replay in self.replays:
            found.append(
                f"- replay in memory, {replay.described}: {replay.cpu_us:.1f} µs/event "
                f"({self.customers:,} customers, {self.replayed_events:,} events, best of {TRIES}; "
                f"{replay.forked:,} customers forked)"
            )
        return found


async def measure(settings: Settings, url: str) -> PartCosts:
    """Each part over the history of ``url`` (the database ``settings`` name)."""
    seconds = await server_seconds(url)
    with garbage_collected_seldom():  # as the replay reads and replays
        events, cpu, wall = await reading_cpu(settings)
        horizons, histories = await first_histories(settings, REPLAY_CUSTOMERS)
        replayed = sum(len(h.events) for h in histories)
        replays = []
        for change, (_, described) in CHANGES.items():
            best, forked = replay_cpu(settings, change, horizons, histories)
            replays.append(ReplayCost(described, best / replayed * 1e6, forked))
    return PartCosts(
        events, seconds / events * 1e6, cpu / events * 1e6, wall, len(histories), replayed, replays
    )


async def on_own_database(server: str, events: int) -> PartCosts:
    name = f"{isolation.database_name(f'bench-{uuid.uuid4().hex[:6]}')}_parts"
    url = await isolation.create_database(server, name)
    os.environ["HUB_DATABASE_URL"] = url
    try:
        settings = load_settings().model_copy(update={"rules_file": None})
        await migrate_database(settings)
        await seed_history(url, events)
        return await measure(settings, url)
    finally:
        await isolation.drop_database(server, name)


def main() -> None:
    try:
        costs = asyncio.run(on_own_database(load_settings().require_database_url(), EVENTS))
    except HubError as exc:
        raise SystemExit(f"bench: {exc}") from None
    print("\n".join(costs.lines()))


if __name__ == "__main__":
    main()
