"""The API for bench/aliases.py, with or without the alias layer (issue 13's "< 3 %").

``BENCH_ALIASES=off`` builds the same app with the routers included the plain FastAPI way: no
alias routes after them, no path rules (trailing slashes, strict UUID ids). Everything else
(middleware, Idempotency-Key, projections in-process) is as ``ledgerflow serve`` has it.

    BENCH_ALIASES=off uvicorn --factory bench.alias_app:app
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from interfaces.api import alias
from interfaces.api.app import create_app
from interfaces.bootstrap import build
from interfaces.settings import Settings


def plain_install(app: FastAPI, routers: Iterable[APIRouter], _: Iterable[alias.Alias]) -> None:
    """The routers as FastAPI includes them, without the alias layer."""
    for router in routers:
        app.include_router(router)


def app() -> FastAPI:
    """The app over its own container (projections in-process, as ``ledgerflow serve``)."""
    if os.environ.get("BENCH_ALIASES") == "off":
        alias.install = plain_install  # type: ignore[assignment]
    container = build(Settings())
    container.start()
    built = create_app(container)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        container.close()

    built.router.lifespan_context = lifespan
    return built
