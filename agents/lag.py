"""Consumer lag of every assigned partition, as a Prometheus gauge."""

import faust

from hub import metrics

LAG_INTERVAL_SECONDS = 5.0


def register_lag_monitor(app: faust.App) -> None:
    @app.timer(interval=LAG_INTERVAL_SECONDS)  # type: ignore[untyped-decorator]
    async def report_consumer_lag() -> None:
        consumer = app.consumer
        for tp in consumer.assignment():
            position = await consumer.position(tp)
            if position is None:
                continue
            lag = max(0, consumer.highwater(tp) - position)
            metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(lag)
