"""A backtest split over processes: each replays a part of the customers, on the same snapshot.

The replay is CPU-bound Python; one process uses one core. The customers are split
into ranges of ids with about the same number of events each (found by the outline,
:meth:`hub.storage.history_replay.Outline.split`), so that the server reads each part's
rows without a filter to work out per row. Each part is replayed in a process of its
own on a connection that reads the snapshot the parent exported, and the parts'
tallies are added up. A customer's history stays in one process, so every figure is
what one process would have counted.
"""

import asyncio
import multiprocessing
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from hub.backtest.replaying import Progress, new_backtest, replay_selection
from hub.core.backtest.tally import Tally
from hub.errors import HubError
from hub.rules.loading import LoadedRules
from hub.settings import Settings
from hub.storage.history import HistoryStore
from hub.storage.history_replay import Selection, replay_reader

PROGRESS_EVERY_S = 0.25


@dataclass(frozen=True, slots=True)
class Part:
    """What one process needs: all of it is pickled to the process."""

    settings: Settings
    candidate: LoadedRules
    current: LoadedRules
    selection: Selection
    horizons: dict[int, datetime]
    since: datetime | None
    snapshot: str


@dataclass(frozen=True, slots=True)
class PartResult:
    candidate: Tally
    current: Tally
    events: int


def parts_of(base: Part, ranges: list[tuple[str | None, str | None]]) -> list[Part]:
    """One part per range (after, up to] of customer ids, within the base selection's."""
    selection = base.selection
    return [
        replace(
            base,
            selection=replace(
                selection,
                after=selection.after if after is None else after,
                up_to=selection.up_to if up_to is None else up_to,
            ),
        )
        for after, up_to in ranges
    ]


class PartProcesses:
    """Processes started before their parts are known, each waiting for one: they start
    up (a spawned interpreter imports the hub, about half a second of CPU) while the
    parent reads the outline that the parts are cut from.

    Usage::

        async with PartProcesses(2) as processes:
            outline = ...
            results = await processes.replay(parts, advance)
    """

    def __init__(self, count: int) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process with an event loop
        self._parts: Any = context.Queue()
        self._messages: Any = context.Queue()
        self._processes = [
            context.Process(target=_run_part, args=(self._parts, self._messages), daemon=True)
            for _ in range(count)
        ]

    async def __aenter__(self) -> "PartProcesses":
        for process in self._processes:
            process.start()
        return self

    async def __aexit__(self, failed: type[BaseException] | None, *_: object) -> None:
        for _waiting in self._processes:
            self._parts.put(None)  # a process still waiting for a part ends (the others never read it)
        for process in self._processes:
            if failed is not None and process.is_alive():
                process.terminate()  # a part failed, or the run was stopped: the others' work is moot
            process.join(5)
            if process.is_alive():
                process.terminate()
                process.join(5)

    async def replay(self, parts: list[Part], advance: Progress) -> list[PartResult]:
        """Replay each part in a process of its own (one part per process); a part's
        HubError is raised here as it was."""
        assert len(parts) <= len(self._processes), "a part per process"
        for part in parts:
            self._parts.put(part)
        results: list[PartResult] = []
        loop = asyncio.get_running_loop()
        while len(results) < len(parts):
            try:
                kind, value = await loop.run_in_executor(None, self._messages.get, True, 1.0)
            except queue.Empty:
                self._check_alive()
                continue
            if kind == "progress":
                advance(value)
            elif kind == "done":
                results.append(value)
            else:
                raise value
        return results

    def _check_alive(self) -> None:
        for process in self._processes:
            if not process.is_alive() and process.exitcode not in (0, None):
                raise HubError(
                    f"a backtest process ended with exit code {process.exitcode} before its report"
                )


def _run_part(parts: Any, messages: Any) -> None:
    """The process's body: wait for a part (None: no part for it), replay it, send progress
    on the way and the tallies at the end."""
    part: Part | None = parts.get()
    if part is None:
        return
    pending, last = 0, time.monotonic()

    def advance(events: int) -> None:
        nonlocal pending, last
        pending += events
        if time.monotonic() - last >= PROGRESS_EVERY_S:
            messages.put(("progress", pending))
            pending, last = 0, time.monotonic()

    try:
        result = asyncio.run(_replay_part(part, advance))
    except HubError as exc:
        messages.put(("failed", exc))
        return
    except Exception as exc:  # anything else ends the part too, named rather than lost
        messages.put(("failed", HubError(f"a backtest process failed: {type(exc).__name__}: {exc}")))
        return
    if pending:
        messages.put(("progress", pending))
    messages.put(("done", result))


async def _replay_part(part: Part, advance: Callable[[int], None]) -> PartResult:
    settings = part.settings
    async with (
        HistoryStore.connected(settings.require_database_url()) as store,
        replay_reader(store, part.selection, snapshot=part.snapshot) as reader,
    ):
        backtest = new_backtest(settings, part.candidate, part.current, part.horizons, part.since)
        await replay_selection(reader, backtest, settings, advance)
    return PartResult(backtest.candidate, backtest.current, backtest.events)
