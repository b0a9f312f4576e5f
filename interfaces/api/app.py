"""The FastAPI application: routers, error handlers and the request-id middleware."""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from application.api_keys import KEY_PREFIX, parse_key
from interfaces.api import availability, errors
from interfaces.api.consistency import (
    Consistency,
    HeadPositions,
    LocalPositions,
    PrincipalPositions,
    RedisPositions,
)
from interfaces.api.deps import bearer
from interfaces.api.live import LiveHub
from interfaces.api.principals import Principals
from interfaces.api.rate_limit import LoginThrottle, RateLimit
from interfaces.api.routes import (
    account,
    api_keys,
    audit,
    auth,
    events,
    health,
    mfa,
    tasks,
    tokens,
    users,
    webhook_deliveries,
    ws,
)
from interfaces.api.routes import history as task_history
from interfaces.api.routes import webhooks as webhook_endpoints
from interfaces.bootstrap import API_KEYS, SESSIONS, USERS, Container, conninfo
from interfaces.version import VERSION

DESCRIPTION = """Ledgerflow: an event-sourced backend for orchestrating work.

Every change is an immutable event; commands answer with the log `position` that recorded them,
and queries wait (briefly) until their read model has applied the caller's own writes.
Authenticate with `Authorization: Bearer <token>` or the bare token from `POST /login`.
"""


class RequestId:
    """Gives every request an id (from ``X-Request-ID`` or new) and echoes it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")[:128]
        request_id = given or str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        await self.app(scope, receive, send_with_id)


def rate_key(container: Container, token: str) -> str:
    """Whose budget a request spends: the API key's, else the token's user's."""
    if token.startswith(KEY_PREFIX):
        return f"key:{parse_key(token)[0]}"
    return f"user:{container.tokens.verify(token)}"


def create_app(container: Container, *, shared_process: bool = True) -> FastAPI:
    """The API over an already built container (the caller starts and closes it).

    ``shared_process=False`` says other processes serve the same clients (``--workers``).
    """
    app = FastAPI(
        title="Ledgerflow",
        version=VERSION,
        description=DESCRIPTION,
        docs_url="/docs",
        redoc_url="/redoc",
        openapi_url="/openapi.json",
    )
    settings = container.settings
    app.state.container = container
    url = container.settings.redis_url
    positions: PrincipalPositions
    if url:
        positions = RedisPositions(url)
    elif shared_process:
        positions = LocalPositions()
    else:
        positions = HeadPositions(container.ledger.recorder.max_notification_id)
    app.state.principals = Principals(
        container.users,
        container.sessions,
        container.api_keys,
        container.ledger,
        container.watch,
        (USERS, SESSIONS, API_KEYS),
    )
    app.state.consistency = Consistency(
        container.watch, positions, container.settings.read_wait_timeout
    )
    app.state.login_throttle = LoginThrottle(
        settings.login_rate_limit, settings.login_address_rate_limit, settings.redis_url
    )
    errors.install(app)
    availability.install(
        app,
        conninfo(container.database_url),
        (container.pool, container.ledger.recorder.datastore.pool),  # type: ignore[attr-defined]
    )
    app.state.live = LiveHub(container.bus, container.ledger.recorder.max_notification_id)
    for router in (
        auth.router,
        tokens.router,
        account.router,
        mfa.router,
        users.router,
        api_keys.router,
        tasks.router,
        events.router,
        health.router,
        ws.router,
    ):
        app.include_router(router)
    app.include_router(task_history.router)
    app.include_router(audit.router)
    app.include_router(webhook_deliveries.router)
    app.include_router(webhook_endpoints.router)
    app.add_middleware(
        RateLimit,
        rate=settings.rate_limit,
        redis_url=settings.redis_url,
        identify=lambda authorization: rate_key(container, bearer(authorization)),
    )
    app.add_middleware(RequestId)
    return app
