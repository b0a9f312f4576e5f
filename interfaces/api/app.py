"""The FastAPI application: routers, error handlers and the request-id middleware."""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from application.agent import AgentCommands
from application.agent_token import AgentTokens
from application.api_keys import KEY_PREFIX, parse_key
from interfaces.api import errors
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
from interfaces.api.routes import audit, events, health, ws
from interfaces.container import Container
from interfaces.feature import scope_table
from projections.api_key import ApiKeyQueries
from projections.session import SessionQueries
from projections.user import UserQueries

DESCRIPTION = """Ledgerflow: an event-sourced backend for orchestrating work.

Every change is an immutable event; commands answer with the log `position` that recorded them,
and queries wait (briefly) until their read model has applied the caller's own writes.
Authenticate with `Authorization: Bearer <token>` or the bare token from `POST /login`.
"""


# Routes that serve every feature: the events feed, WebSocket, audit and health.
PLATFORM_ROUTERS = (events.router, health.router, ws.router, audit.router)


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
    if AgentTokens.looks_like_agent_token(token):  # each agent has its own budget
        return f"agent:{container.ledger[AgentCommands].tokens.verify(token).agent_id}"
    return f"user:{container.tokens.verify(token)}"


def create_app(container: Container, *, shared_process: bool = True) -> FastAPI:
    """The API over an already built container (the caller starts and closes it).

    ``shared_process=False`` says other processes serve the same clients (``--workers``).
    """
    app = FastAPI(
        title="Ledgerflow",
        version=health.VERSION,
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
    identity = (
        container.query(UserQueries),
        container.query(SessionQueries),
        container.query(ApiKeyQueries),
    )
    app.state.principals = Principals(*identity, container.ledger, container.watch)
    app.state.tokens = container.tokens
    app.state.audit = container.audit
    app.state.scopes = scope_table(container.features)
    app.state.consistency = Consistency(
        container.watch, positions, container.settings.read_wait_timeout
    )
    app.state.login_throttle = LoginThrottle(
        settings.login_rate_limit, settings.login_address_rate_limit, settings.redis_url
    )
    errors.install(app)
    app.state.live = LiveHub(container.bus, container.ledger.recorder.max_notification_id)
    for feature in container.features:
        for router in feature.routers:
            app.include_router(router)
    for router in PLATFORM_ROUTERS:
        app.include_router(router)
    app.add_middleware(
        RateLimit,
        rate=settings.rate_limit,
        redis_url=settings.redis_url,
        identify=lambda authorization: rate_key(container, bearer(authorization)),
    )
    app.add_middleware(RequestId)
    return app
