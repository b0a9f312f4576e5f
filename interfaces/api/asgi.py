"""The app factory each uvicorn worker process calls when ``ledgerflow serve --workers N``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from interfaces.api.app import create_app
from interfaces.bootstrap import build
from interfaces.logs import configure_from
from interfaces.settings import Settings


def worker_app() -> FastAPI:
    """A worker's own container (no projections: the supervising process runs them)."""
    settings = Settings(run_projections=False)
    configure_from(settings, warn=False)  # this process's own handler; serve warned already
    container = build(settings)
    container.start()
    app = create_app(container, shared_process=False)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        container.close()

    app.router.lifespan_context = lifespan
    return app
