"""GET /api/v1/tasks/stats (registered before /api/v1/tasks/{task_id}, which would take it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from interfaces.api.deps import CurrentUserId, queries
from interfaces.api.errors import AUTHED
from interfaces.api.read_wait import settled
from projections.task import TaskQueries

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])
TasksDep = Annotated[TaskQueries, Depends(queries(TaskQueries))]


@router.get("/stats", responses=AUTHED)
def task_stats(
    user_id: CurrentUserId, tasks: TasksDep, _: Annotated[None, settled(TaskQueries)]
) -> dict[str, Any]:
    """Your tasks by status and by priority, and how many are overdue (due and not completed)."""
    return tasks.stats(user_id, datetime.now(UTC))
