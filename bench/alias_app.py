"""The API for bench/aliases.py, with or without the alias layer (issue 13's "< 3 %").

``BENCH_ALIASES=off`` builds the same app with the routers included the plain FastAPI way: no
alias routes after them, no path rules (trailing slashes, strict UUID ids). Everything else
(middleware, Idempotency-Key, projections in-process) is as ``ledgerflow serve`` has it.

Both time their routing: from the router's entry to the chosen route's handler, the only place
where the alias layer does anything for a canonical path (its routes come after every
canonical one, its path rules run only when nothing matched, and its UUID convertors are part
of matching). No await lies in between, so the event loop's thread CPU time over that stretch
(``time.thread_time``) is the router's own: waits for a core or for the GIL are not in it, and
other work on the machine hardly changes it.
``GET /bench/routing`` answers the median (microseconds) and count since the last call, and
starts again.

    BENCH_ALIASES=off uvicorn --factory bench.alias_app:app
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from statistics import median
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from interfaces.api import alias
from interfaces.api.app import create_app
from interfaces.bootstrap import build
from interfaces.settings import Settings

STARTED = "bench.routing_started"
ROUTING: list[float] = []  # seconds from the router's entry to a route's handler, per request


def plain_install(app: FastAPI, routers: Iterable[APIRouter], _: Iterable[alias.Alias]) -> None:
    """The routers as FastAPI includes them, without the alias layer."""
    for router in routers:
        app.include_router(router)


def timed_routing(app: FastAPI) -> None:
    """Note when each HTTP request enters the router, and how long until its route's handler."""
    inner: ASGIApp = app.router.middleware_stack

    async def entered(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[STARTED] = time.thread_time()
        await inner(scope, receive, send)

    app.router.middleware_stack = entered
    handle = APIRoute.handle

    async def chosen(route: APIRoute, scope: Scope, receive: Receive, send: Send) -> None:
        started = scope.pop(STARTED, None)  # a rerouted alias: counted once, at its first route
        if started is not None:
            ROUTING.append(time.thread_time() - started)
        await handle(route, scope, receive, send)

    APIRoute.handle = chosen  # type: ignore[method-assign,assignment]

    @app.get("/bench/routing", include_in_schema=False)
    def routing() -> dict[str, Any]:
        taken, ROUTING[:] = ROUTING[:], []
        return {"median_us": median(taken) * 1e6 if taken else 0.0, "count": len(taken)}


def app() -> FastAPI:
    """The app over its own container (projections in-process, as ``ledgerflow serve``)."""
    if os.environ.get("BENCH_ALIASES") == "off":
        alias.install = plain_install  # type: ignore[assignment]
    container = build(Settings())
    container.start()
    built = create_app(container)
    timed_routing(built)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        container.close()

    built.router.lifespan_context = lifespan
    return built
