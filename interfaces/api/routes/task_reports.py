"""Agents' reports on their tasks: /api/v1/tasks/{task_id}/progress, /complete, /fail (the lease
holder with its agent token, or the owner)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from interfaces.api import task_reports
from interfaces.api.agent_auth import CallerDep
from interfaces.api.agent_schemas import CompleteIn, FailIn, ProgressIn
from interfaces.api.errors import AUTHED, CONFLICT, FORBIDDEN, NOT_FOUND

router = APIRouter(prefix="/api/v1/tasks", tags=["agents"])
REPORT: dict[int | str, dict[str, Any]] = {
    **AUTHED,
    400: {"description": "Progress must be between 0 and 1"},
    403: FORBIDDEN,
    404: NOT_FOUND,
    409: CONFLICT,
}


@router.post("/{task_id}/progress", responses=REPORT)
async def report_progress(
    task_id: str, request: Request, caller: CallerDep, body: ProgressIn | None = None
) -> dict[str, Any]:
    """Report progress (0..1), the current step and details; it extends the lease."""
    done = await task_reports.progress(request, caller, task_id, body or ProgressIn())
    return {
        "success": True,
        "task_id": done.aggregate.id,
        "message": "Progress updated",
        "position": done.position,
    }


@router.post("/{task_id}/complete", responses=REPORT)
async def complete_task(
    task_id: str, request: Request, caller: CallerDep, body: CompleteIn | None = None
) -> dict[str, Any]:
    """Report the task done (summary, output, pr_url, result_files are kept as sent)."""
    done = await task_reports.complete(request, caller, task_id, body or CompleteIn())
    task = done.aggregate
    return {"success": True, "task_id": task.id, "status": task.status, "position": done.position}


@router.post("/{task_id}/fail", responses=REPORT)
async def fail_task(
    task_id: str, body: FailIn, request: Request, caller: CallerDep
) -> dict[str, Any]:
    """Report a failure: retried while attempts remain, else failed and dead-lettered."""
    done = await task_reports.fail(request, caller, task_id, body)
    task = done.aggregate
    return {"success": True, "task_id": task.id, "status": "failed", "position": done.position}
