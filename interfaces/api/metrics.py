"""Prometheus metrics of the API: the HTTP middleware, the WebSocket gauge, and ``/metrics``.

prometheus-client keeps the counters. Under ``serve --workers N`` every worker writes them to
``PROMETHEUS_MULTIPROC_DIR`` (set by the CLI before the workers start) and a scrape of any worker
adds them up (``MultiProcessCollector``). The numbers that come from the database are the
container's background sample (``interfaces/metrics.py``): a scrape runs no query.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from application.error import InvalidToken
from interfaces.container import Container
from interfaces.metrics import SampledCollector

REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests by method, route template and status",
    ("method", "route", "status"),
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency by method and route template",
    ("method", "route"),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
WS_CONNECTIONS = Gauge(
    "ledgerflow_ws_connections", "Open WebSocket connections", multiprocess_mode="livesum"
)
CONVERTOR = re.compile(r"\{(\w+):\w+\}")
UNMATCHED = "<unmatched>"  # every path no route matched counts here (bounded label values)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class HttpMetrics:
    """Counts each HTTP request by method, route template and status, and times it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_see(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_see)
        finally:
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        template = getattr(scope.get("route"), "path", None)
        # "{task_id:prefixed_uuid}" (the path rules' strict ids) is still "{task_id}"
        route = CONVERTOR.sub(r"{\1}", template) if template else UNMATCHED
        method = scope["method"] if scope["method"] in METHODS else "OTHER"  # clients choose it
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:  # labels() takes a lock and builds a tuple: once per key
            children = (
                REQUESTS.labels(key[0], route, str(status)),
                LATENCY.labels(key[0], route),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


def _live(container: Container) -> tuple[int, dict[str, int], dict[str, bool]]:
    """Positions this process knows without a query: its reader's head, the watch's view of the
    read models, and whether its own followers last failed."""
    followers = [*container.runners, *container.reactors]
    names = {f: getattr(getattr(f, "projection", None), "name", None) or f.name for f in followers}
    positions = {name: container.watch.position(name) for name in names.values()}
    for follower, name in names.items():
        positions[name] = max(positions[name], int(getattr(follower, "position", 0)))
    errors = {name: getattr(follower, "last_error", None) for follower, name in names.items()}
    failing = {name: error is not None for name, error in errors.items()}
    return container.reader.head, positions, failing


def exposition(container: Container) -> bytes:
    """The text exposition of every metric this process (or worker fleet) has."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counted = CollectorRegistry()
        MultiProcessCollector(counted)  # type: ignore[no-untyped-call]
    else:
        counted = REGISTRY
    assert container.sampler is not None, "build() gives every container a sampler"
    sampled = CollectorRegistry(auto_describe=False)
    sampled.register(SampledCollector(container.sampler, lambda: _live(container)))
    return generate_latest(counted) + generate_latest(sampled)


router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
@router.get("/api/v1/metrics", response_class=Response, include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus metrics (text format 0.0.4). With ``LEDGERFLOW_METRICS_TOKEN`` set, send it as
    ``Authorization: Bearer <token>``."""
    container: Container = request.app.state.container
    wanted = container.settings.metrics_token
    if wanted is not None:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not secrets.compare_digest(given.encode(), wanted.get_secret_value().encode()):
            raise InvalidToken()
    return Response(exposition(container), media_type=CONTENT_TYPE_PLAIN_0_0_4)
