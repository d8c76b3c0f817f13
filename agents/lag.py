"""Consumer lag of every assigned partition, as a Prometheus gauge."""

import faust

from hub import metrics

LAG_INTERVAL_SECONDS = 5.0


def register_lag_monitor(app: faust.App) -> None:
    @app.timer(interval=LAG_INTERVAL_SECONDS)  # type: ignore[untyped-decorator]
    async def report_consumer_lag() -> None:
        # A timer that raises crashes the whole app, and during a rebalance positions and
        # high-water marks are briefly unknown: skip those partitions until the next tick.
        consumer = app.consumer
        for tp in consumer.assignment():
            position = await consumer.position(tp)
            highwater = consumer.highwater(tp)
            if position is None or highwater is None:
                continue
            metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, highwater - position))
