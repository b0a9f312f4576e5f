"""The FastAPI application: routers, error handlers and the request-id middleware."""

from __future__ import annotations

import re
import uuid

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from application.agent import AgentCommands
from application.agent_token import AgentTokens
from application.api_keys import KEY_PREFIX, parse_key
from domain.ids import new_id
from interfaces.api import alias, availability, errors, fastapi_speedups, route_index
from interfaces.api.access_log import AccessLog
from interfaces.api.alias_openapi import with_aliases
from interfaces.api.consistency import (
    Consistency,
    HeadPositions,
    LocalPositions,
    PrincipalPositions,
    RedisPositions,
)
from interfaces.api.deps import bearer
from interfaces.api.idempotency import Idempotency, IdempotencyStore
from interfaces.api.live_hub import LiveHub
from interfaces.api.live_revocation import SocketRevocation
from interfaces.api.metrics import HttpMetrics
from interfaces.api.metrics import router as metrics_router
from interfaces.api.openapi_examples import with_body_examples
from interfaces.api.openapi_text import with_text_patterns
from interfaces.api.principals import Principals
from interfaces.api.rate_limit import Budget, LoginThrottle, RateKeys, RateLimit, Spends
from interfaces.api.request_guard import RequestGuard
from interfaces.api.routes import audit, events, exports, health, readiness, ws
from interfaces.api.security_docs import with_sign_in_schemes
from interfaces.api.telemetry import telemetry_config
from interfaces.container import Container, conninfo
from interfaces.feature import scope_table
from interfaces.version import VERSION
from projections.api_key import ApiKeyQueries
from projections.session import SessionQueries
from projections.user import UserQueries

DESCRIPTION = """Ledgerflow: an event-sourced backend for orchestrating work.

Every change is an immutable event; commands answer with the log `position` that recorded them,
and queries wait (briefly) until their read model has applied the caller's own writes.
Authenticate with `Authorization: Bearer <token>` or the bare token from `POST /login`.
"""


# Routes that serve every feature: the events feed, WebSocket, audit and health.
PLATFORM_ROUTERS = (
    events.router,
    health.router,
    readiness.router,
    ws.router,
    audit.router,
    exports.router,  # after audit: /exports/{format} would take /exports/audit
)
DOCS_ASSETS = "/docs-assets"
VISIBLE_ASCII = re.compile(r"[!-~]+")
PLATFORM_ALIASES = (*health.ALIASES, *ws.ALIASES)


def command_owner(container: Container, token: str) -> str:
    """Whose Idempotency-Keys a request uses: its API key's, else its token's user's."""
    if token.startswith(KEY_PREFIX):
        return f"key:{parse_key(token)[0]}"
    return f"user:{container.tokens.verify(token)}"


class RequestId:
    """Gives every request an id (from ``X-Request-ID`` or new) and echoes it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")[:128]
        # It goes into every event's metadata: visible ASCII only, else a new one.
        request_id = given if VISIBLE_ASCII.fullmatch(given) else str(new_id())
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        await self.app(scope, receive, send_with_id)


def _fast_paths(app: FastAPI) -> None:
    """Route each request through the routers that can hold its path, and let FastAPI remember
    what it would compute again on every request from the fixed routes."""
    route_index.index(app)
    fastapi_speedups.install()


def create_app(container: Container, *, shared_process: bool = True) -> FastAPI:
    """The API over an already built container (the caller starts and closes it).

    ``shared_process=False`` says other processes serve the same clients (``--workers``).
    """
    # /docs and /redoc load Swagger UI and ReDoc from the installed fastapi-offline package (at
    # DOCS_ASSETS), never from a CDN: they work on a machine without internet access.
    app = FastAPIOffline(
        title="Ledgerflow",
        version=VERSION,
        description=DESCRIPTION,
        docs_url="/docs",
        redoc_url="/redoc",
        openapi_url="/openapi.json",
        static_url=DOCS_ASSETS,
        responses=errors.EVERY_ROUTE,
        telemetry=telemetry_config(),
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
        container.watch,
        positions,
        settings.read_wait_timeout,
        container.ledger.recorder.max_notification_id,
        settings.read_waits_per_principal,
    )
    app.state.login_throttle = LoginThrottle(
        settings.login_rate_limit,
        settings.login_address_rate_limit,
        settings.login_username_rate_limit,
        settings.redis_url,
    )
    errors.install(app)
    availability.install(
        app,
        conninfo(container.database_url),
        (container.pool, container.ledger.recorder.datastore.pool),  # type: ignore[attr-defined]
    )
    app.state.live = LiveHub(container.bus, container.ledger.recorder.max_notification_id)
    app.state.socket_revocation = SocketRevocation(
        container.watch, container.query(SessionQueries), container.query(UserQueries)
    )
    routers = [router for feature in container.features for router in feature.routers]
    seed_aliases = [a for feature in container.features for a in feature.aliases]
    platform = [*PLATFORM_ROUTERS, *([metrics_router] if settings.metrics_enabled else [])]
    alias.install(app, [*routers, *platform], [*seed_aliases, *PLATFORM_ALIASES])
    app.openapi = with_sign_in_schemes(app)  # type: ignore[method-assign]
    app.openapi = with_aliases(app.openapi, [*seed_aliases, *PLATFORM_ALIASES])  # type: ignore[method-assign]
    app.openapi = with_text_patterns(app)  # type: ignore[method-assign]
    app.openapi = with_body_examples(app)  # type: ignore[method-assign]

    def key_owner(key: str) -> tuple[uuid.UUID, str | None]:
        principal = app.state.principals.load_key(key)
        return principal.user_id, principal.rate_limit

    user_keys = RateKeys(container.tokens, key_owner)

    async def rate_keys(authorization: str) -> Spends:
        """Each agent has its own budget; users share theirs across their API keys."""
        token = bearer(authorization)
        if AgentTokens.looks_like_agent_token(token):
            # An agent spends a budget of its own size (DevFlow's "Tasks API: 1000
            # requests/minute per agent"), never its owner's.
            agent_id = container.ledger[AgentCommands].tokens.verify(token).agent_id
            return [Budget(f"agent:{agent_id}", settings.agent_rate_limit)]
        return await user_keys(authorization)

    app.add_middleware(
        Idempotency,
        store=IdempotencyStore(
            conninfo(container.database_url),
            container.ledger.recorder.events_table_name,  # type: ignore[attr-defined]
            settings.db_pool_size,
        ),
        identify=lambda authorization: command_owner(container, bearer(authorization)),
    )
    app.add_middleware(
        RequestGuard,
        max_body_bytes=settings.max_body_bytes,
        schema=app.openapi,
        any_json_paths=[
            compile_path(a.path)[0]
            for a in [*seed_aliases, *PLATFORM_ALIASES]
            if a.presenter.any_content_type
        ],
    )
    app.add_middleware(
        RateLimit,
        rate=settings.rate_limit,
        redis_url=settings.redis_url,
        identify=rate_keys,
    )
    app.add_middleware(errors.ContainErrors)
    app.add_middleware(RequestId)
    app.add_middleware(AccessLog)  # outside RequestId: it logs the id RequestId chose
    if settings.metrics_enabled:
        app.add_middleware(HttpMetrics)  # it times and counts everything, 429s too
    if settings.trusted_proxies:  # outermost: the client address everything else sees
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    _fast_paths(app)  # last: every route is in place
    return app
