"""FastAPI dependencies: the container's objects, the current user, request metadata.

They are ``async def`` on purpose: none of them blocks, and FastAPI runs every sync dependency in
the thread pool, a hop per dependency that cost ~40 ms per request under load (measured).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Header, Query, Request
from fastapi.security import APIKeyHeader

from application.context import CommandContext
from application.error import InvalidToken
from application.ledger import Ledger
from interfaces.api.consistency import MIN_POSITION_HEADER, Consistency
from interfaces.bootstrap import Container
from projections.task import TaskQueries

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


async def task_queries(request: Request) -> TaskQueries:
    """The tasks read model."""
    return _built(request).tasks


async def consistency(request: Request) -> Consistency:
    """Read-your-writes bookkeeping."""
    found: Consistency = request.app.state.consistency
    return found


async def current_user_id(
    request: Request, authorization: Annotated[str | None, Depends(_authorization)]
) -> UUID:
    """The user a valid access token names; 401 otherwise."""
    if not authorization:
        raise InvalidToken()
    scheme, _, credentials = authorization.strip().partition(" ")
    token = credentials.strip() if scheme.lower() == "bearer" else authorization.strip()
    return _built(request).tokens.verify(token)


async def command_context(
    request: Request, user_id: Annotated[UUID, Depends(current_user_id)]
) -> CommandContext:
    """Who sent this command, and the ids that tie its events to the request."""
    return CommandContext.for_user(user_id, request.state.request_id)


async def min_position(
    header: Annotated[int | None, Header(alias=MIN_POSITION_HEADER, ge=0)] = None,
    query: Annotated[int | None, Query(alias="min_position", ge=0)] = None,
) -> int | None:
    """A position the caller wants the read model to have reached before answering."""
    return max(header or 0, query or 0) or None


LedgerDep = Annotated[Ledger, Depends(ledger)]
TasksDep = Annotated[TaskQueries, Depends(task_queries)]
ConsistencyDep = Annotated[Consistency, Depends(consistency)]
CurrentUserId = Annotated[UUID, Depends(current_user_id)]
Context = Annotated[CommandContext, Depends(command_context)]
MinPosition = Annotated[int | None, Depends(min_position)]
