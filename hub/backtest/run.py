"""Running a backtest: rules and settings in, the history read once, the report out.

Reads PostgreSQL only (read-only transactions on one snapshot), writes no table and
publishes nothing: the decisions are counted, and no trigger is built.
"""

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from hub.backtest.parts import Part, PartProcesses, parts_of
from hub.backtest.replaying import OnReplayed, horizons_of, new_backtest, replay_selection, shard_function
from hub.core.backtest.compare import compare
from hub.core.backtest.report import BacktestReport, RuleSource
from hub.core.backtest.tally import Tally, merged
from hub.errors import ConfigError
from hub.rules.loading import LoadedRules, read_rules
from hub.settings import Settings
from hub.storage.history import HistoryStore
from hub.storage.history_replay import Outline, ReplayReader, Selection, replay_reader


@dataclass(frozen=True, slots=True)
class BacktestOptions:
    candidate: Path
    against: Path | None = None
    """The rules to compare with; None for the rules in force (HUB_RULES_FILE or the shipped ones)."""
    since: datetime | None = None
    until: datetime | None = None
    warm_up: timedelta = timedelta(days=30)
    """With ``since``: the events of this long before it build the state, uncounted."""
    first_customers: int | None = None
    sample: float | None = None
    by_event_time: bool = False
    jobs: int = 1
    """Processes replaying parts of the customers (one core each)."""


def load_rule_sets(settings: Settings, options: BacktestOptions) -> tuple[LoadedRules, LoadedRules]:
    """(candidate, current); a missing or invalid file is a ConfigError naming it."""
    candidate = read_rules(options.candidate, setting=None)
    if options.against is not None:
        return candidate, read_rules(options.against, setting=None)
    return candidate, read_rules(settings.rules_file)


async def run_backtest(
    settings: Settings,
    options: BacktestOptions,
    *,
    progress: bool = False,
    on_replayed: OnReplayed | None = None,
) -> BacktestReport:
    """Replay the selected history under the candidate rules and the current ones.

    ``on_replayed`` sees every customer's decisions (warm-up included), e.g. for a test
    that holds them against the decision log; it needs ``jobs=1``."""
    if on_replayed is not None and options.jobs != 1:
        raise ConfigError("a backtest that hands out its decisions runs in one process (jobs=1)")
    candidate, current = load_rule_sets(settings, options)
    read_from = options.since - options.warm_up if options.since is not None else None
    selection = Selection(
        read_from,
        options.until,
        options.first_customers,
        options.sample,
        by_event_time=options.by_event_time,
    )
    began = time.monotonic()
    async with (
        # Started first: the processes start up while the outline is read.
        PartProcesses(options.jobs) if options.jobs > 1 else nullcontext() as processes,
        HistoryStore.connected(settings.require_database_url()) as store,
        replay_reader(store, selection) as reader,
    ):
        outline = await reader.outline(shard_function(settings))
        horizons = horizons_of(outline)
        with _progress_bar(outline.events, enabled=progress) as advance:
            if processes is None:
                backtest = new_backtest(settings, candidate, current, horizons, options.since)
                await replay_selection(reader, backtest, settings, advance, on_replayed)
                tallies, events = (backtest.candidate, backtest.current), backtest.events
            else:
                tallies, events = await _in_parts(
                    processes, reader, settings, candidate, current, outline, horizons, options, advance
                )
    return _report(settings, options, candidate, current, outline, tallies, events, time.monotonic() - began)


async def _in_parts(
    processes: PartProcesses,
    reader: ReplayReader,
    settings: Settings,
    candidate: LoadedRules,
    current: LoadedRules,
    outline: Outline,
    horizons: dict[int, datetime],
    options: BacktestOptions,
    advance: Callable[[int], None],
) -> tuple[tuple[Tally, Tally], int]:
    # The first N customers are found by the outline: each part reads up to the last of them.
    selection = reader.selection_read()
    base = Part(
        settings, candidate, current, selection, horizons, options.since, await reader.export_snapshot()
    )
    results = await processes.replay(parts_of(base, outline.split(options.jobs)), advance)
    tallies = (merged([r.candidate for r in results]), merged([r.current for r in results]))
    return tallies, sum(r.events for r in results)


def _report(
    settings: Settings,
    options: BacktestOptions,
    candidate: LoadedRules,
    current: LoadedRules,
    outline: Outline,
    tallies: tuple[Tally, Tally],
    events: int,
    seconds: float,
) -> BacktestReport:
    period_from = options.since or outline.first
    period_to = options.until or outline.last
    return BacktestReport(
        candidate=RuleSource(candidate.source, candidate.sha256),
        current=RuleSource(current.source, current.sha256),
        diff_only=options.against is not None,
        period_from=period_from,
        period_to=period_to,
        days=_days(period_from, period_to),
        start_state=_start_state(options),
        selection=_selection_text(options),
        order="by event time" if options.by_event_time else "as the worker recorded them",
        customers=tallies[0].customers,
        events=events,
        seconds=seconds,
        rules=compare(candidate.rules.rules, current.rules.rules, tallies[0], tallies[1]),
    )


def _days(start: datetime | None, end: datetime | None) -> int:
    if start is None or end is None:
        return 0
    return max(1, -(-(end - start) // timedelta(days=1)))


def _start_state(options: BacktestOptions) -> str:
    if options.since is None:
        return "empty state before the first stored event (the whole stored history is replayed)"
    if options.warm_up <= timedelta(0):
        return f"empty state at {options.since.isoformat()}"
    days = options.warm_up / timedelta(days=1)
    return (
        f"state rebuilt from the {days:g} day(s) before {options.since.isoformat()} (replayed, not counted)"
    )


def _selection_text(options: BacktestOptions) -> str:
    if options.first_customers is not None:
        return f"the first {options.first_customers:,} customers by id"
    if options.sample is not None:
        return f"a {options.sample:.1%} sample of customers (a stable hash of the id)"
    return "every customer"


@contextmanager
def _progress_bar(total: int, *, enabled: bool) -> Iterator[Callable[[int], None]]:
    """A bar on stderr with the rate and the time left; nothing when not enabled."""
    if not enabled:
        yield lambda _: None
        return
    columns = (
        TextColumn("backtest"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(file=sys.stderr), transient=False) as bar:
        task: TaskID = bar.add_task("backtest", total=total, rate="")
        done = 0
        last = 0.0

        def advance(events: int) -> None:
            nonlocal done, last
            done += events
            now = time.monotonic()
            if now - last >= 0.2 or done >= total:  # redrawing per customer would cost more than it shows
                speed = bar.tasks[0].speed
                bar.update(task, completed=done, rate=f"{speed:,.0f}/s" if speed else "")
                last = now

        yield advance
