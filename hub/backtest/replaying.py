"""The replay loop shared by a backtest in one process and by each of its parts."""

import gc
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hub.core.backtest.replay import CustomerHistory
from hub.core.backtest.session import Backtest, Replayed
from hub.core.decide import DecisionConfig
from hub.core.money import Rates
from hub.core.records import CHECK_GRACE
from hub.partitions import home_partition
from hub.rules.loading import LoadedRules
from hub.settings import Settings
from hub.storage.history_replay import Outline, ReplayReader

Progress = Callable[[int], None]
"""Told the number of events of each customer replayed."""
OnReplayed = Callable[[CustomerHistory, Replayed], None]


def decision_config(settings: Settings, loaded: LoadedRules) -> DecisionConfig:
    """What the worker decides with, with these rules: the same tiers, rates, policy and
    zone; the triggers, which a backtest drops, are not built (the decisions are the same)."""
    return DecisionConfig(
        loaded.rules.rules,
        settings.tiers,
        Rates(settings.fx_rates, settings.home_currency),
        settings.policy,
        ZoneInfo(settings.default_time_zone),
        triggers=False,
    )


def shard_function(settings: Settings) -> Callable[[str], int]:
    """The partition of the internal topic that owns a customer, as the worker computes it."""
    partitions = settings.partitions

    def shard_of(customer_id: str) -> int:
        return home_partition(customer_id, partitions)

    return shard_of


def horizons_of(outline: Outline) -> dict[int, datetime]:
    """Per shard, how far its event time went over the whole history: the checks due by
    then fire at the end of a replay, as the worker's clock (less its grace) fired them."""
    return {shard: at - CHECK_GRACE for shard, at in outline.shard_clocks.items()}


def new_backtest(
    settings: Settings,
    candidate: LoadedRules,
    current: LoadedRules,
    horizons: Mapping[int, datetime],
    since: datetime | None,
) -> Backtest:
    return Backtest(
        decision_config(settings, candidate),
        decision_config(settings, current),
        horizons=horizons,
        since=since,
        zone=ZoneInfo(settings.default_time_zone),
    )


async def replay_selection(
    reader: ReplayReader,
    backtest: Backtest,
    settings: Settings,
    advance: Progress,
    on_replayed: OnReplayed | None = None,
) -> None:
    declined_for = timedelta(days=settings.policy.declined_days)
    with garbage_collected_seldom():
        async for history in reader.customers(shard_function(settings), declined_for):
            replayed = backtest.add(history)
            if on_replayed is not None:
                on_replayed(history, replayed)
            advance(len(history.events))


GARBAGE_THRESHOLDS = (100_000, 50, 1000)


@contextmanager
def garbage_collected_seldom() -> Iterator[None]:
    """The cycle collector runs seldom while the replay runs, the objects from before it
    set aside (restored after). The replay makes and drops millions of small objects
    (events, decisions) with hardly a reference cycle among them; at the default of a
    pass every 700 new objects, each older generation walked again and again, the
    collector cost about a quarter of the backtest's CPU and found next to nothing
    (``--jobs 1`` over 1,000,000 events: 52.9 µs per event without, 36.8-42.6 with)."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*GARBAGE_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
