"""Agents: /api/v1/agents (registration with an agent token, list, get, patch, soft delete,
002's start/stop, token rotation) and the agent-facing commands and heartbeat."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from application.result import Written
from domain.agent import Agent
from interfaces.api.agent_auth import CallerDep, agent_path_id, load_agent, owned_agent_id
from interfaces.api.agent_ops import agents_of, heartbeat, list_agents, poll, present, register
from interfaces.api.agent_out import AgentListOut, AgentOut, AgentRegisteredOut, AgentWrittenOut
from interfaces.api.agent_schemas import AgentIn, AgentProfileIn, HeartbeatIn
from interfaces.api.agent_view import DEVFLOW_FILTER
from interfaces.api.consistency import POSITION_HEADER
from interfaces.api.deps import (
    ConsistencyDep,
    Context,
    CurrentUserId,
    IfMatch,
    PagingDep,
    Writer,
    expected_version,
)
from interfaces.api.errors import AUTHED, CONFLICT, FORBIDDEN, NOT_FOUND, STALE

router = APIRouter(prefix="/api/v1/agents", tags=["agents"])
WRITE: dict[int | str, dict[str, Any]] = {
    **AUTHED,
    403: FORBIDDEN,
    404: NOT_FOUND,
    409: CONFLICT,
    412: STALE,
}


def _doc(model: type[BaseModel], description: str) -> dict[str, Any]:
    """A documented answer: the routes build it as a mapping, the model describes it."""
    return {"model": model, "description": description}


WRITTEN = {**WRITE, 200: _doc(AgentWrittenOut, "The agent after the change")}
Wait = Annotated[float, Query(ge=0, le=30, description="long poll: seconds to wait for work")]
Limit = Annotated[int, Query(ge=1, le=100, description="new commands to lease at most")]


def _written(request: Request, done: Written[Agent], response: Response) -> dict[str, Any]:
    response.headers["ETag"] = f'"{done.aggregate.version}"'
    response.headers[POSITION_HEADER] = str(done.position)
    return {**present(request, done.aggregate), "position": done.position}


async def _switch(
    request: Request, owner: Any, context: Any, raw: str, response: Response, *, on: bool
) -> dict[str, Any]:
    agents = agents_of(request)
    change = agents.start_agent if on else agents.stop_agent
    done = await run_in_threadpool(change, context, owner, owned_agent_id(owner, raw))
    return _written(request, done, response)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=None,
    responses={**WRITE, 201: _doc(AgentRegisteredOut, "The agent and its token")},
)
async def register_agent(
    body: AgentIn, request: Request, writer: Writer, context: Context
) -> dict[str, Any]:
    """Register an agent; the answer carries its agent token (returned only here)."""
    out, _ = await register(request, body, writer.user_id, context)
    return out


@router.get("", response_model=None, responses={**AUTHED, 200: _doc(AgentListOut, "A page")})
async def list_the_agents(
    request: Request,
    user_id: CurrentUserId,
    paging: PagingDep,
    status: str | None = None,
    status_filter: str | None = None,
    capability: str | None = None,
    role: str | None = None,
) -> dict[str, Any]:
    """The caller's agents, filtered by status (canonical or DevFlow's words), capability,
    role."""
    wanted = status or status_filter
    statuses = None if wanted is None else DEVFLOW_FILTER.get(wanted, [wanted])
    return await list_agents(
        request, user_id, statuses, capability, role, paging.limit, paging.offset
    )


@router.get(
    "/{agent_id}",
    response_model=None,
    responses={**AUTHED, 404: NOT_FOUND, 200: _doc(AgentOut, "The agent")},
)
async def get_agent(
    agent_id: str, request: Request, caller: CallerDep, response: Response
) -> dict[str, Any]:
    """One agent (its owner, or the agent itself with its token)."""
    agent = await load_agent(request, caller, agent_id)
    response.headers["ETag"] = f'"{agent.version}"'
    return present(request, agent)


@router.patch("/{agent_id}", response_model=None, responses=WRITTEN)
async def update_agent(
    agent_id: str,
    body: AgentProfileIn,
    request: Request,
    caller: CallerDep,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Change some fields of an agent; If-Match refuses a stale write."""
    found = agent_path_id(caller, agent_id)
    done = await run_in_threadpool(
        agents_of(request).update_agent,
        caller.context,
        caller.owner_id,
        found,
        body.profile(),
        expected_version(if_match),
    )
    return _written(request, done, response)


@router.delete("/{agent_id}", status_code=status.HTTP_204_NO_CONTENT, responses=WRITE)
async def delete_agent(
    agent_id: str,
    request: Request,
    writer: Writer,
    context: Context,
    consistency: ConsistencyDep,
    if_match: IfMatch = None,
) -> Response:
    """Soft delete: the token stops working and the agent's leased tasks go back to the queue."""
    agents = agents_of(request)
    found = owned_agent_id(writer.user_id, agent_id)
    done = await run_in_threadpool(
        agents.delete_agent, context, writer.user_id, found, expected_version(if_match)
    )
    await consistency.wrote_async(writer.user_id, done.position)
    return Response(status_code=204, headers={POSITION_HEADER: str(done.position)})


@router.post("/{agent_id}/start", response_model=None, responses=WRITTEN)
async def start_agent(
    agent_id: str, request: Request, writer: Writer, context: Context, response: Response
) -> dict[str, Any]:
    """Enable the agent: idle, and it gets commands again."""
    return await _switch(request, writer.user_id, context, agent_id, response, on=True)


@router.post("/{agent_id}/stop", response_model=None, responses=WRITTEN)
async def stop_agent(
    agent_id: str, request: Request, writer: Writer, context: Context, response: Response
) -> dict[str, Any]:
    """Disable the agent: offline, no commands; its leased tasks go back to the queue."""
    return await _switch(request, writer.user_id, context, agent_id, response, on=False)


@router.post("/{agent_id}/token", responses=WRITE)
async def rotate_token(
    agent_id: str, request: Request, writer: Writer, context: Context
) -> dict[str, Any]:
    """A new agent token; the previous ones stop working."""
    found = owned_agent_id(writer.user_id, agent_id)
    agents = agents_of(request)
    done, token, expires = await run_in_threadpool(
        agents.rotate_token, context, writer.user_id, found
    )
    position = done.position
    return {"agent_id": found, "token": token, "token_expires_at": expires, "position": position}


@router.get("/{agent_id}/commands", responses=WRITE)
async def commands(
    agent_id: str, request: Request, caller: CallerDep, limit: Limit = 10, wait: Wait = 0
) -> dict[str, Any]:
    """The commands leased to this agent: those it holds plus up to ``limit`` new ones."""
    return {"commands": await poll(request, caller, agent_id, limit, wait)}


@router.post("/{agent_id}/heartbeat", responses={**AUTHED, 404: NOT_FOUND})
async def agent_heartbeat(
    agent_id: str, request: Request, caller: CallerDep, body: HeartbeatIn | None = None
) -> dict[str, Any]:
    """The agent is alive (kept out of the event log; only a status change is an event)."""
    return await heartbeat(request, caller, agent_id, (body or HeartbeatIn()).sent())
