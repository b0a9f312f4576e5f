"""GET /api/v1/tasks/stats (registered before /api/v1/tasks/{task_id}, which would take it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from interfaces.api.deps import CurrentUserId, queries
from interfaces.api.errors import AUTHED
from interfaces.api.read_wait import settled
from projections.task import TaskQueries

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])
TasksDep = Annotated[TaskQueries, Depends(queries(TaskQueries))]


class TaskStatsOut(BaseModel):
    """The caller's tasks counted (Behflow's stats)."""

    total: int = Field(description="how many tasks you have", examples=[3])
    by_status: dict[str, int] = Field(
        description="how many in each status (every status, 0 included)",
        examples=[{"not_started": 1, "in_progress": 1, "completed": 1, "failed": 0}],
    )
    by_priority: dict[str, int] = Field(
        description="how many at each priority (every priority, 0 included)",
        examples=[{"low": 0, "medium": 2, "high": 1, "urgent": 0}],
    )
    overdue: int = Field(description="due before now and not completed", examples=[1])


@router.get(
    "/stats",
    response_model=None,
    responses={**AUTHED, 200: {"model": TaskStatsOut, "description": "The counts"}},
)
def task_stats(
    user_id: CurrentUserId, tasks: TasksDep, _: Annotated[None, settled(TaskQueries)]
) -> dict[str, Any]:
    """Your tasks by status and by priority, and how many are overdue (due and not completed)."""
    return tasks.stats(user_id, datetime.now(UTC))
