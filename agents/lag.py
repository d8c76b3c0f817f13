"""Consumer lag of the Faust consumer's data partitions, as a Prometheus gauge.

Only data topics count: the Faust consumer also reads its tables' changelog topics,
whose lag says nothing about the hub keeping up (a caught-up worker showed 1-7 there).
The hot path reports the lag of its own partitions (channel and accepted topics) itself.
"""

from collections.abc import Iterable
from typing import Any

import faust
from faust.types import TP

from hub import metrics
from hub.settings import Settings
from schemas import topics

LAG_INTERVAL_SECONDS = 5.0

FAUST_DATA_TOPICS = (topics.CUSTOMERS_PROFILE, topics.TRIGGERS_OUTCOMES, topics.INTERACTIONS_UNRESOLVED)
"""The data topics the Faust agents read (the hot path's consumer reads the others)."""


class LagReport:
    """Keeps the lag series of the partitions assigned now, and only those: the series of
    a partition lost in a rebalance is removed at once, not left at its last value."""

    def __init__(self, data_topics: Iterable[str]) -> None:
        self._data_topics = frozenset(data_topics)
        self._shown: set[tuple[str, int]] = set()

    def is_data(self, tp: TP) -> bool:
        return tp.topic in self._data_topics

    def show(self, tp: TP, lag: int) -> None:
        self._shown.add((tp.topic, tp.partition))
        metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, lag))

    def keep_only(self, assigned: Iterable[TP]) -> None:
        """Remove the series of every partition shown before and not in ``assigned``."""
        now = {(tp.topic, tp.partition) for tp in assigned}
        for topic, partition in self._shown - now:
            metrics.CONSUMER_LAG.remove(topic, str(partition))
        self._shown &= now


def register_lag_monitor(app: faust.App, settings: Settings) -> LagReport:
    report = LagReport(settings.topic(name) for name in FAUST_DATA_TOPICS)

    # Faust's assignment replaces the previous one: what is not in it was lost.
    # mode's signal types want the receiver's arguments as *args; Faust sends (app, assigned).
    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def forget_lost(sender: faust.App, assigned: set[TP], **kwargs: Any) -> None:
        report.keep_only(assigned)

    @app.timer(interval=LAG_INTERVAL_SECONDS)  # type: ignore[untyped-decorator]
    async def report_consumer_lag() -> None:
        # A timer that raises crashes the whole app, and during a rebalance positions and
        # high-water marks are briefly unknown: skip those partitions until the next tick.
        consumer = app.consumer
        assigned = [tp for tp in consumer.assignment() if report.is_data(tp)]
        report.keep_only(assigned)
        for tp in assigned:
            position = await consumer.position(tp)
            highwater = consumer.highwater(tp)
            if position is None or highwater is None:
                continue
            report.show(tp, highwater - position)

    return report
