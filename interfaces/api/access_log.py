"""One access line per HTTP request: method, path (never the query string, which may carry a
token), status, duration, request id, principal kind and client address.

The principal kind is what authenticated the request (``user``, ``api_key``, ``agent``), set by
the dependencies that check credentials (``interfaces/api/deps.py``, ``agent_auth.py``), or
``anonymous``. Written to the ``ledgerflow.access`` logger in the process's one log format.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("ledgerflow.access")


class AccessLog:
    """Logs each HTTP request once it has been answered (or has failed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        started = time.perf_counter()
        status = 500  # what the server answers when the app raised before answering

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            client = scope.get("client")
            log.info(
                "%s %s %s %.1fms",
                scope["method"],
                scope["path"],
                status,
                duration_ms,
                extra={
                    "request_id": state.get("request_id"),
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": duration_ms,
                    "principal": state.get("principal_kind", "anonymous"),
                    "client": client[0] if client else None,
                },
            )
