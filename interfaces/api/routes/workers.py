"""002's workers: /api/v1/workers (register, heartbeat with resource figures, the tasks of their
agents, the fleet overview) and /api/v1/admin/workers (list, approve)."""

from __future__ import annotations

from statistics import mean
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from application.agent import AgentCommands
from application.dispatch import DispatchCommands
from application.worker import WorkerCommands
from domain.agent import AgentNotFound
from domain.task import Task
from domain.worker import Worker
from interfaces.api.agent_view import command_out, step_task_ids
from interfaces.api.deps import (
    Admin,
    ConsistencyDep,
    Context,
    CurrentUserId,
    LedgerDep,
    PagingDep,
    Writer,
    queries,
)
from interfaces.api.errors import AUTHED, FORBIDDEN, NOT_FOUND
from interfaces.api.schemas import StrictIn, page_fields
from projections.agent import AgentQueries
from projections.task_dispatch import DispatchQueries
from projections.worker import WorkerQueries

router = APIRouter(prefix="/api/v1/workers", tags=["workers"])
admin_router = APIRouter(prefix="/api/v1/admin/workers", tags=["workers"])
WorkersDep = Annotated[WorkerQueries, Depends(queries(WorkerQueries))]
HEARTBEAT_INTERVAL_MS = 30_000
ERRORS: dict[int | str, dict[str, Any]] = {**AUTHED, 403: FORBIDDEN, 404: NOT_FOUND}


class WorkerIn(StrictIn):
    """A worker machine (002 `/workers/register`)."""

    name: str = Field(
        min_length=1, max_length=200, description="the worker machine's name", examples=["build-01"]
    )
    hostname: str | None = Field(
        default=None, max_length=200, description="its host name", examples=["build-01.internal"]
    )
    ip_address: str | None = Field(
        default=None, max_length=200, description="its IP address", examples=["10.0.0.12"]
    )
    max_agents: int | None = Field(
        default=None, ge=0, description="how many agents it can host", examples=[4]
    )
    cpu_cores: int | None = Field(default=None, ge=0, description="its CPU cores", examples=[8])
    memory_total_mb: int | None = Field(
        default=None, ge=0, description="its memory in MiB", examples=[16384]
    )
    os_info: str | None = Field(
        default=None, max_length=200, description="its operating system", examples=["Debian 13"]
    )


class WorkerHeartbeatIn(StrictIn):
    """A worker's resource figures (kept out of the event log)."""

    cpu_usage_percent: float | None = Field(
        default=None, ge=0, le=100, description="CPU in use, 0-100", examples=[35.5]
    )
    memory_usage_percent: float | None = Field(
        default=None, ge=0, le=100, description="memory in use, 0-100", examples=[60.0]
    )
    disk_usage_percent: float | None = Field(
        default=None, ge=0, le=100, description="disk in use, 0-100", examples=[42.0]
    )


class ApproveIn(StrictIn):
    """An admin's decision."""

    is_approved: bool = Field(
        description="true approves the worker, false refuses it", examples=[True]
    )
    group: str | None = Field(
        default=None,
        max_length=200,
        description="a group to put the worker in",
        examples=["linux-builders"],
    )


def worker_out(
    worker: Worker | dict[str, Any], figures: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A worker as 002 lists it (with its latest figures when known)."""
    if isinstance(worker, Worker):
        fields = {
            "worker_id": worker.id,
            "owner_id": worker.owner_id,
            "name": worker.name,
            **worker.spec,
            "is_approved": worker.is_approved,
            "group": worker.group,
            "status": worker.status,
        }
    else:
        fields = {
            **{k: v for k, v in worker.items() if k != "group_name"},
            "group": worker["group_name"],
        }
    return {**fields, "metrics": figures or {}}


@router.post("/register", status_code=status.HTTP_201_CREATED, responses=ERRORS)
def register_worker(
    body: WorkerIn, app: LedgerDep, writer: Writer, context: Context
) -> dict[str, Any]:
    """Register a worker; an admin approves it (status pending_approval until then)."""
    spec = body.model_dump(exclude={"name"})
    done = app[WorkerCommands].register_worker(context, writer.user_id, body.name, spec)
    return {**worker_out(done.aggregate), "position": done.position}


@router.get("/overview", responses=ERRORS)
def overview(
    user_id: CurrentUserId, app: LedgerDep, workers: WorkersDep, request: Request
) -> dict[str, Any]:
    """Fleet overview of the caller's workers."""
    rows = workers.of_owner(user_id)
    liveness = app[AgentCommands].liveness
    figures = [liveness.figures(row["worker_id"]) for row in rows]
    count = {
        s: sum(1 for r in rows if r["status"] == s)
        for s in ("online", "offline", "pending_approval")
    }
    agents = request.app.state.container.query(AgentQueries)

    def average(key: str) -> float | None:
        values = [f[key] for f in figures if f.get(key) is not None]
        return mean(values) if values else None

    return {
        "total": len(rows),
        **count,
        "agents_total": agents.count(user_id),
        "cpu_avg": average("cpu_usage_percent"),
        "memory_avg": average("memory_usage_percent"),
    }


@router.post("/{worker_id}/heartbeat", responses=ERRORS)
def worker_heartbeat(
    worker_id: UUID,
    app: LedgerDep,
    writer: Writer,
    context: Context,
    body: WorkerHeartbeatIn | None = None,
) -> dict[str, Any]:
    """The worker is alive; its figures stay out of the event log."""
    figures = (body or WorkerHeartbeatIn()).model_dump(exclude_none=True)
    worker = app[WorkerCommands].heartbeat(context, writer.user_id, worker_id, figures)
    interval = HEARTBEAT_INTERVAL_MS
    return {"success": True, "next_heartbeat_interval_ms": interval, "status": worker.status}


@router.get("/{worker_id}/tasks", responses=ERRORS)
async def worker_tasks(
    worker_id: UUID,
    request: Request,
    app: LedgerDep,
    writer: Writer,
    context: Context,
    consistency: ConsistencyDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> dict[str, Any]:
    """The commands of the worker's agents: those held plus new leases, up to ``limit``."""
    container = request.app.state.container
    agents = container.query(AgentQueries)
    tasks = container.query(DispatchQueries)
    dispatch = app[DispatchCommands]

    def lease() -> list[dict[str, Any]]:
        app[WorkerCommands].get_worker(writer.user_id, worker_id)
        consistency.settle_own_writes(agents.name, writer.user_id)
        consistency.settle_own_writes(tasks.name, writer.user_id)
        found: list[Task | dict[str, Any]] = []
        for agent_id in agents.of_worker(writer.user_id, worker_id):
            try:
                agent = app[AgentCommands].get_agent(writer.user_id, agent_id)
            except AgentNotFound:
                continue
            if not agent.enabled or len(found) >= limit:
                continue
            found.extend(tasks.held(agent.id, dispatch.clock()))
            ids = tasks.queued_for(agent.owner_id, agent.id, agent.capabilities, limit * 2)
            found.extend(dispatch.lease_commands(context, agent, ids, limit - len(found))[0])
        steps = dispatch.run_steps(step_task_ids(found))
        return [command_out(t, steps) for t in found]

    return {"tasks": await run_in_threadpool(lease)}


@admin_router.get("", responses=ERRORS)
def list_workers(
    admin: Admin, app: LedgerDep, workers: WorkersDep, paging: PagingDep
) -> dict[str, Any]:
    """Every worker with its latest figures (admin)."""
    rows, total = workers.page(paging.limit, paging.offset)
    liveness = app[AgentCommands].liveness
    found = [worker_out(row, liveness.figures(row["worker_id"])) for row in rows]
    return {"workers": found, **page_fields(total, paging.limit, paging.offset, len(found))}


@admin_router.patch("/{worker_id}/approve", responses=ERRORS)
def approve_worker(
    worker_id: UUID, body: ApproveIn, admin: Admin, app: LedgerDep, context: Context
) -> dict[str, Any]:
    """Approve (into a group) or reject a worker (admin)."""
    done = app[WorkerCommands].decide(context, worker_id, body.is_approved, body.group)
    return {**worker_out(done.aggregate), "position": done.position}
