"""The dead-letter queue of tasks (002, admin): /api/v1/dead-letter."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status
from starlette.concurrency import run_in_threadpool

from application.dispatch import DispatchCommands
from domain.dispatch import TaskNotQueued
from domain.task import TaskNotFound
from interfaces.api.agent_schemas import DeadLetterIn
from interfaces.api.consistency import POSITION_HEADER
from interfaces.api.deps import Admin, ConsistencyDep, Context, LedgerDep, PagingDep, queries
from interfaces.api.errors import AUTHED, FORBIDDEN, NOT_FOUND
from interfaces.api.schemas import page_fields
from projections.task_dispatch import DispatchQueries

router = APIRouter(prefix="/api/v1/dead-letter", tags=["dead letter"])
DeadDep = Annotated[DispatchQueries, Depends(queries(DispatchQueries))]
ADMIN: dict[int | str, dict[str, Any]] = {**AUTHED, 403: FORBIDDEN, 404: NOT_FOUND}


def item(row: dict[str, Any]) -> dict[str, Any]:
    """A dead-letter item (its id is the task's)."""
    agent = row.get("taken_by") or row.get("agent_id")
    return {
        "dead_letter_id": row["task_id"],
        "task_id": row["task_id"],
        "agent_id": agent,
        "intent": row.get("intent"),
        "reason": row.get("dead_letter_reason"),
        "attempts": row.get("attempts", 0),
        "last_error": row.get("error"),
        "dead_lettered_at": row.get("dead_lettered_at"),
    }


@router.get("", responses=ADMIN)
def list_dead_letters(
    admin: Admin, dead: DeadDep, paging: PagingDep, consistency: ConsistencyDep
) -> dict[str, Any]:
    """Tasks that failed max_attempts times or lost their lease too often, oldest first."""
    consistency.settle_own_writes(dead.name, admin.user_id)
    rows, total = dead.dead_letters(paging.limit, paging.offset)
    found = [item(row) for row in rows]
    return {"items": found, **page_fields(total, paging.limit, paging.offset, len(found))}


@router.post("", status_code=status.HTTP_201_CREATED, responses=ADMIN)
def add_dead_letter(
    body: DeadLetterIn, admin: Admin, app: LedgerDep, context: Context, consistency: ConsistencyDep
) -> dict[str, Any]:
    """Put a task in the dead-letter queue by hand (it becomes failed)."""
    done = app[DispatchCommands].dead_letter(context, body.task_id, body.reason)
    consistency.wrote(admin.user_id, done.position)
    task = done.aggregate
    values = {
        "task_id": task.id,
        "agent_id": task.lease_agent_id or task.agent_id,
        "intent": task.intent,
    }
    more = {
        "dead_letter_reason": task.dead_lettered,
        "attempts": task.attempts,
        "error": task.error,
    }
    return {
        **item({**values, **more, "dead_lettered_at": task.modified_on}),
        "position": done.position,
    }


@router.get("/stats", responses=ADMIN)
def dead_letter_stats(admin: Admin, dead: DeadDep, consistency: ConsistencyDep) -> dict[str, Any]:
    """How many tasks are dead-lettered, by reason and by intent, and the oldest."""
    consistency.settle_own_writes(dead.name, admin.user_id)
    return dead.dead_letter_stats()


@router.post("/retry-all", status_code=status.HTTP_202_ACCEPTED, responses=ADMIN)
async def retry_all(
    admin: Admin, app: LedgerDep, dead: DeadDep, context: Context, consistency: ConsistencyDep
) -> dict[str, Any]:
    """Put every dead-lettered task back in the queue."""
    await consistency.settle_async(dead.name, admin.user_id)
    ids = await run_in_threadpool(dead.dead_letter_ids)
    queued = 0
    for task_id in ids:
        try:
            done = await run_in_threadpool(app[DispatchCommands].requeue, context, task_id)
        except (TaskNotFound, TaskNotQueued):
            continue
        await consistency.wrote_async(admin.user_id, done.position)
        queued += 1
    return {"queued": queued}


@router.post("/{dead_letter_id}/retry", status_code=status.HTTP_202_ACCEPTED, responses=ADMIN)
def retry(
    dead_letter_id: UUID,
    admin: Admin,
    app: LedgerDep,
    context: Context,
    consistency: ConsistencyDep,
) -> dict[str, Any]:
    """Put the task back in the queue (not_started, attempts reset)."""
    done = app[DispatchCommands].requeue(context, dead_letter_id)
    consistency.wrote(admin.user_id, done.position)
    return {"task_id": dead_letter_id, "status": done.aggregate.status, "position": done.position}


@router.delete("/{dead_letter_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ADMIN)
def delete(
    dead_letter_id: UUID,
    admin: Admin,
    app: LedgerDep,
    context: Context,
    consistency: ConsistencyDep,
) -> Response:
    """Take the task out of the dead-letter queue; it stays failed."""
    done = app[DispatchCommands].clear_dead_letter(context, dead_letter_id)
    consistency.wrote(admin.user_id, done.position)
    return Response(status_code=204, headers={POSITION_HEADER: str(done.position)})
