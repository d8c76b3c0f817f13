"""HTTP endpoints on the worker's own web server: metrics and health."""

from collections.abc import Callable

import faust
from faust.web import Request, Response, View
from prometheus_client import generate_latest


def register_web(app: faust.App, hot_path_ready: Callable[[], bool]) -> None:
    @app.page("/metrics")
    async def prometheus_metrics(web: View, request: Request) -> Response:
        # aiohttp wants the charset apart from the content type.
        return web.bytes(generate_latest(), content_type="text/plain; version=0.0.4")

    @app.page("/healthz")
    async def liveness(web: View, request: Request) -> Response:
        return web.json({"status": "ok"})

    @app.page("/readyz")
    async def readiness(web: View, request: Request) -> Response:
        ready = (
            not app.rebalancing
            and app.tables.recovery.completed.is_set()  # type: ignore[attr-defined]
            and hot_path_ready()
        )
        return web.json({"ready": ready}, status=200 if ready else 503)
