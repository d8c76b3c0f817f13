"""``GET /metrics`` of ``hub api``: requests and their latency by route template and status.

Labels name the route's template (``/customers/{customer_id}``), never the path asked
for, which carries a customer id. The API's metrics are a registry of their own: the
worker's series (at 0 in this process) would only mislead here.

The endpoint needs no token, like ``/healthz``: Prometheus scrapes it without one, and it
tells nothing about any customer. Keep it off the public side of a reverse proxy.
"""

import time
from collections.abc import MutableMapping
from importlib.metadata import version
from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
BUILD_INFO = Gauge(
    "hub_build_info",
    "Always 1; the version of the hub that serves these metrics.",
    ["version"],
    registry=REGISTRY,
)
BUILD_INFO.labels(version("interaction-hub")).set(1)
REQUESTS = Counter(
    "hub_api_requests_total",
    "Requests answered by hub api, by route template, method and status.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "hub_api_request_duration_seconds",
    "Seconds from a request's arrival to the end of its answer, by route template, method and status.",
    ["route", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
UNMATCHED = "unmatched"
"""The route label of a request no route took (a 404 for an unknown path, say)."""


def metrics_router() -> APIRouter:
    """``GET /metrics``, without a token (a plain APIRoute), outside the OpenAPI document."""
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return router


class RequestMetrics:
    """ASGI middleware that counts and times every HTTP request by its route's template."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, sending)
        finally:
            labels = (route_template(scope), scope["method"], str(status[0]))
            REQUESTS.labels(*labels).inc()
            REQUEST_SECONDS.labels(*labels).observe(time.perf_counter() - started)


def route_template(scope: MutableMapping[str, Any]) -> str:
    """The template of the route that took the request (set on the scope by the router)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED
