"""FastAPI dependencies: the container's objects, the current user, request metadata.

They are ``async def`` on purpose: none of them blocks, and FastAPI runs every sync dependency in
the thread pool, a hop per dependency that cost ~40 ms per request under load (measured).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar
from uuid import UUID

from fastapi import Depends, Header, Query, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from starlette.concurrency import run_in_threadpool

from application.api_keys import KEY_PREFIX
from application.context import CommandContext
from application.error import InvalidToken
from application.ledger import Ledger
from application.principal import Principal
from interfaces.api.consistency import MIN_POSITION_HEADER, Consistency
from interfaces.api.cookie import cookie_token
from interfaces.api.principals import Principals
from interfaces.api.query import OFFSET_MAX, PAGE_MAX, POSITION_MAX
from interfaces.container import Container
from interfaces.feature import Scope
from projections.event_feed import EventFeed

Q = TypeVar("Q")
SESSION_ONLY = "session-only"  # no key has it: account and admin routes need a real sign-in
_authorization = APIKeyHeader(
    name="Authorization",
    auto_error=False,
    description="`Bearer <token>` or the bare token (Behflow's examples send it bare)",
)


def _built(request: Request) -> Container:
    built: Container = request.app.state.container
    return built


async def container(request: Request) -> Container:
    """The composition root this app was built with."""
    return _built(request)


async def ledger(request: Request) -> Ledger:
    """The event-sourced application (write side)."""
    return _built(request).ledger


def queries(kind: type[Q]) -> Callable[[Request], Awaitable[Q]]:
    """A dependency giving the container's queries of one read model (``queries(TaskQueries)``)."""

    async def provide(request: Request) -> Q:
        return _built(request).query(kind)

    return provide


async def event_feed(request: Request) -> EventFeed:
    """The event feed read model (every event with its reader)."""
    return _built(request).events


async def principals(request: Request) -> Principals:
    """The principal cache."""
    found: Principals = request.app.state.principals
    return found


async def consistency(request: Request) -> Consistency:
    """Read-your-writes bookkeeping."""
    found: Consistency = request.app.state.consistency
    return found


def bearer(authorization: str) -> str:
    """The token of an ``Authorization`` header: ``Bearer <token>`` or the bare token."""
    scheme, _, credentials = authorization.strip().partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else authorization.strip()


# The schemes a signed-in route accepts, as OpenAPI states them (``security_docs.py`` adds them
# to every route that depends on ``current_principal``): the ``Authorization`` header, and
# OAuth2's password flow against /oauth/token so that Swagger UI's Authorize button offers it (it
# sends the same ``Authorization: Bearer`` header). They are not dependencies of their own: each
# dependency FastAPI solves costs time on every request.
_oauth2 = OAuth2PasswordBearer(tokenUrl="/oauth/token", auto_error=False)
SIGN_IN_SCHEMES = (_authorization, _oauth2)


async def current_principal(request: Request) -> Principal:
    """The active user a valid access token names, with their role; 401 otherwise."""
    return await principal_of(request, request.headers.get("authorization") or None)


async def principal_of(request: Request, authorization: str | None) -> Principal:
    """The principal of an ``Authorization`` header value (else the session cookie)."""
    token = bearer(authorization) if authorization else cookie_token(request)
    if not token:
        raise InvalidToken()
    principals: Principals = request.app.state.principals
    request.state.session_id = None
    if token.startswith(KEY_PREFIX):
        key = await run_in_threadpool(principals.load_key, token)
        key.require_scope(_scope_of(request))
        request.state.user_id = key.user_id
        request.state.principal_kind = "api_key"  # for the access log
        return key
    claims = _built(request).tokens.verify_claims(token)
    request.state.session_id = claims.session_id
    found = principals.cached(claims)
    if found is None:
        found = await run_in_threadpool(principals.load, claims)
    request.state.user_id = found.user_id  # for presenters (DevFlow's userId)
    request.state.principal_kind = "user"  # for the access log
    return found


def _scope_of(request: Request) -> str:
    """The scope an API key needs for this route: from the features' scope table (keys can use
    only the routes a scope guards)."""
    route = request.scope.get("route")
    path = getattr(route, "path", "")
    scopes: tuple[Scope, ...] = request.app.state.scopes
    for scope in scopes:
        if scope.guards(path):
            needed = scope.read if request.method in ("GET", "HEAD") else scope.write
            return needed or SESSION_ONLY
    return SESSION_ONLY


async def current_writer(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """The principal, refused (403) when a viewer tries to change something."""
    principal.require_writer()
    return principal


async def current_admin(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """The principal, refused (403) unless an admin."""
    principal.require_admin()
    return principal


async def current_user_id(principal: Annotated[Principal, Depends(current_principal)]) -> UUID:
    """The id of the authenticated, active user."""
    return principal.user_id


async def command_context(
    request: Request, user_id: Annotated[UUID, Depends(current_user_id)]
) -> CommandContext:
    """Who sent this command, and the ids that tie its events to the request."""
    return CommandContext.for_user(user_id, request.state.request_id)


@dataclass(frozen=True)
class Command:
    """What a command route needs, from ONE dependency (each dependency FastAPI solves costs
    time on every request): the writer, the context stamped on the events, the ledger and the
    read-your-writes bookkeeping."""

    writer: Principal
    context: CommandContext
    ledger: Ledger
    consistency: Consistency

    @property
    def user_id(self) -> UUID:
        """The writer's user id."""
        return self.writer.user_id


async def command(
    request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> Command:
    """The writer (403 for a viewer) and everything a command needs."""
    principal.require_writer()
    state = request.app.state
    context = CommandContext.for_user(principal.user_id, request.state.request_id)
    return Command(principal, context, state.container.ledger, state.consistency)


PositionHeader = Annotated[int | None, Header(alias=MIN_POSITION_HEADER, ge=0, le=POSITION_MAX)]
PositionQuery = Annotated[int | None, Query(alias="min_position", ge=0, le=POSITION_MAX)]


async def min_position(header: PositionHeader = None, query: PositionQuery = None) -> int | None:
    """A position the caller wants the read model to have reached before answering."""
    return max(header or 0, query or 0) or None


@dataclass(frozen=True)
class Paging:
    """The page a list asks for, as ``limit``/``offset`` (``page``/``per_page`` accepted too)."""

    limit: int
    offset: int


async def paging(
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=OFFSET_MAX)] = 0,
    page: Annotated[
        int | None,
        Query(
            ge=0, le=PAGE_MAX, description="page number: 1-based with per_page, 0-based with size"
        ),
    ] = None,
    per_page: Annotated[int | None, Query(ge=1, le=200)] = None,
    size: Annotated[int | None, Query(ge=1, le=200, description="flow8's page size")] = None,
) -> Paging:
    """``limit`` and ``offset`` of a list request; ``page`` with ``per_page`` (AstraFlow,
    1-based) or with ``size`` (flow8, 0-based) wins when given; a lone ``page=0`` is the first."""
    limit = size or per_page or limit
    if page is None:
        return Paging(limit, offset)
    first = 0 if size is not None else 1
    return Paging(limit, max(0, page - first) * limit)


ContainerDep = Annotated[Container, Depends(container)]
EventFeedDep = Annotated[EventFeed, Depends(event_feed)]
LedgerDep = Annotated[Ledger, Depends(ledger)]
ConsistencyDep = Annotated[Consistency, Depends(consistency)]
CurrentUserId = Annotated[UUID, Depends(current_user_id)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
Writer = Annotated[Principal, Depends(current_writer)]
Admin = Annotated[Principal, Depends(current_admin)]
PrincipalsDep = Annotated[Principals, Depends(principals)]
Context = Annotated[CommandContext, Depends(command_context)]
CommandDep = Annotated[Command, Depends(command)]
MinPosition = Annotated[int | None, Depends(min_position)]
PagingDep = Annotated[Paging, Depends(paging)]


def expected_version(if_match: str | None) -> int | None:
    """The version an If-Match header asks for (``*`` or absent: any)."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    # isdigit() alone accepts "²", which int() refuses: only ASCII digits are a version
    return int(tag) if tag.isascii() and tag.isdigit() else -1


IfMatch = Annotated[str | None, Header(description="the ETag you last read; 412 when stale")]
