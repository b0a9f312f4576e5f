"""Fail fast while the database is down, and come back by itself when it is up again.

Without this, a request that arrives while PostgreSQL restarts waits for a pooled connection
(seconds), and the event store retries each read ten times: clients hang until they give up.
Once one request has found the database unreachable, every request answers 503 at once
(``DATABASE_UNAVAILABLE``, ``Retry-After: 1``) while a background thread tries to connect
twice a second; when it succeeds, the pools drop their broken connections and requests flow
again. ``/health``, the API docs and WebSockets are not gated.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import psycopg
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

PROBE_EVERY_SECONDS = 0.5
UNGATED = ("/health", "/docs", "/redoc", "/openapi.json")
UNAVAILABLE_BODY = json.dumps(
    {"detail": "The database is unavailable; retry shortly", "code": "DATABASE_UNAVAILABLE"}
).encode()


class DatabaseAvailability:
    """Whether the database is known to be down, and the probe that finds it up again."""

    def __init__(self, conninfo: str, pools: Sequence[Any]) -> None:
        self._conninfo = conninfo
        self._pools = pools
        self._down = threading.Event()
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        """True from the first failure to reach the database until a probe reaches it."""
        return self._down.is_set()

    def mark_down(self, reason: object) -> None:
        """The database could not be reached: fail fast until a probe reaches it again."""
        with self._lock:
            if self._down.is_set():
                return
            self._down.set()
        log.warning("database unreachable (%s): answering 503 until it is back", reason)
        threading.Thread(target=self._probe_until_up, name="database-probe", daemon=True).start()

    def reachable(self) -> bool:
        """One connection attempt, bounded to a second."""
        try:
            with psycopg.connect(self._conninfo, connect_timeout=1) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def _probe_until_up(self) -> None:
        while not self.reachable():
            time.sleep(PROBE_EVERY_SECONDS)
        for pool in self._pools:
            try:
                pool.check()  # replaces the connections the outage broke
            except Exception as error:  # a closed pool (shutting down) is fine
                log.debug("pool check after the outage: %s", error)
        self._down.clear()
        log.warning("database reachable again")


class FailFast:
    """ASGI middleware: 503 at once for HTTP requests while the database is known down."""

    def __init__(self, app: ASGIApp, availability: DatabaseAvailability) -> None:
        self.app = app
        self.availability = availability

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not self.availability.down
            or scope["path"].startswith(UNGATED)
        ):
            await self.app(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"retry-after", b"1"),
                    (b"content-length", str(len(UNAVAILABLE_BODY)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": UNAVAILABLE_BODY})


def install(app: FastAPI, conninfo: str, pools: Sequence[Any]) -> DatabaseAvailability:
    """Gate ``app``'s requests on the database's availability (see the module's docstring)."""
    availability = DatabaseAvailability(conninfo, pools)
    app.state.availability = availability
    app.add_middleware(FailFast, availability=availability)
    return availability
