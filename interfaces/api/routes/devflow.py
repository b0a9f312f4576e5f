"""DevFlow's agent API at its own paths (``003``): camelCase in and out, DevFlow's error titles.
The work is the canonical endpoints' (``interfaces/api/agent_ops.py``, ``task_reports.py``); only
the presenter differs. Declared here because the seed-alias mechanism of issue 13 was not on main
when this was written."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from starlette.concurrency import run_in_threadpool

from domain.task import TaskNotFound
from interfaces.api import task_reports
from interfaces.api.agent_auth import CallerDep, task_path_id
from interfaces.api.agent_ops import heartbeat, list_agents, poll, register
from interfaces.api.agent_schemas import (
    AgentIn,
    CompleteIn,
    ExecuteIn,
    FailIn,
    HeartbeatIn,
    ProgressIn,
)
from interfaces.api.agent_view import DEVFLOW_FILTER, devflow_agent, devflow_task
from interfaces.api.deps import ConsistencyDep, Context, CurrentUserId, Writer
from interfaces.api.devflow import DevFlowRoute, MissingFields
from interfaces.api.errors import AUTHED, CONFLICT, NOT_FOUND
from interfaces.api.query import OFFSET_MAX
from projections.task import TaskQueries

router = APIRouter(prefix="/api", tags=["devflow"], route_class=DevFlowRoute)
ERRORS: dict[int | str, dict[str, Any]] = {
    **AUTHED,
    400: {"description": "Bad input"},
    404: NOT_FOUND,
    409: CONFLICT,
}


@router.post("/agents", status_code=status.HTTP_201_CREATED, responses=ERRORS)
async def register_agent(
    body: AgentIn, request: Request, writer: Writer, context: Context
) -> dict[str, Any]:
    """Create and authenticate a self-hosted agent (``agentId``, ``name``, ``version`` required)."""
    sent = {"agentId": body.agent_key, "name": body.name, "version": body.agent_version}
    missing = [name for name, value in sent.items() if value is None]
    if missing:
        raise MissingFields(missing)
    out, _ = await register(request, body, writer.user_id, context)
    return {"success": True, "agent": devflow_agent(out["agent"]), "token": out["token"]}


@router.get("/agents", responses=ERRORS)
async def list_the_agents(
    request: Request,
    user_id: CurrentUserId,
    status: str | None = None,
    capability: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=OFFSET_MAX)] = 0,
) -> dict[str, Any]:
    """The caller's agents (``status``: active, inactive or error; ``capability``)."""
    statuses = None if status is None else DEVFLOW_FILTER.get(status, [status])
    page = await list_agents(request, user_id, statuses, capability, None, limit, offset)
    agents = [devflow_agent(agent) for agent in page["agents"]]
    return {
        "agents": agents,
        "total": page["total"],
        "limit": limit,
        "offset": offset,
        "hasMore": page["has_more"],
    }


@router.get("/agents/{agent_id}/commands", responses=ERRORS)
async def commands(
    agent_id: str,
    request: Request,
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    wait: Annotated[float, Query(ge=0, le=30)] = 0,
) -> dict[str, Any]:
    """Poll for tasks assigned to this agent (commands stay snake_case, as in the seed)."""
    return {"commands": await poll(request, caller, agent_id, limit, wait)}


@router.post("/agents/{agent_id}/heartbeat", responses=ERRORS)
async def agent_heartbeat(
    agent_id: str, request: Request, caller: CallerDep, body: HeartbeatIn | None = None
) -> dict[str, Any]:
    """Signal that the agent is alive and ready to receive tasks."""
    out = await heartbeat(request, caller, agent_id, (body or HeartbeatIn()).sent())
    return {"success": True, "nextPollInterval": out["next_poll_interval_ms"]}


@router.get("/tasks/{task_id}", responses=ERRORS)
async def get_task(
    task_id: str,
    request: Request,
    caller: CallerDep,
    consistency: ConsistencyDep,
) -> dict[str, Any]:
    """Details about a task, in DevFlow's shape."""
    found = task_path_id(task_id)
    table = request.app.state.container.query(TaskQueries)

    def read() -> dict[str, Any] | None:
        consistency.settle_own_writes(table.name, caller.owner_id)
        row: dict[str, Any] | None = table.get(caller.owner_id, found)
        return row

    row = await run_in_threadpool(read)
    if row is None:
        raise TaskNotFound(found)
    return devflow_task(row)


@router.post("/tasks/{task_id}/progress", responses=ERRORS)
async def report_progress(
    task_id: str, request: Request, caller: CallerDep, body: ProgressIn | None = None
) -> dict[str, Any]:
    """Update progress while executing a task."""
    done = await task_reports.progress(request, caller, task_id, body or ProgressIn())
    return {"success": True, "taskId": str(done.aggregate.id), "message": "Progress updated"}


@router.post("/tasks/{task_id}/complete", responses=ERRORS)
async def complete_task(
    task_id: str, request: Request, caller: CallerDep, body: CompleteIn | None = None
) -> dict[str, Any]:
    """Mark a task as completed successfully."""
    done = await task_reports.complete(request, caller, task_id, body or CompleteIn())
    return {"success": True, "taskId": str(done.aggregate.id), "status": done.aggregate.status}


@router.post("/tasks/{task_id}/fail", responses=ERRORS)
async def fail_task(
    task_id: str, body: FailIn, request: Request, caller: CallerDep
) -> dict[str, Any]:
    """Mark a task as failed with error details."""
    done = await task_reports.fail(request, caller, task_id, body)
    return {"success": True, "taskId": str(done.aggregate.id), "status": "failed"}


@router.post("/workflows/execute", status_code=status.HTTP_202_ACCEPTED, responses=ERRORS)
async def execute(body: ExecuteIn, request: Request, caller: CallerDep) -> dict[str, Any]:
    """Queue a task for agents with the ``intent`` capability (created if ``taskId`` is new).
    Ledgerflow requires a token here, which DevFlow's example omits (docs/agents.md)."""
    done = await task_reports.execute(request, caller, body)
    return {"accepted": True, "taskId": str(done.aggregate.id)}
