"""A task's history and its state in the past: /api/v1/tasks/{task_id}/history, ?as_of, ?version."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from application.history import task_events
from interfaces.adapters.event_store import LedgerflowRecorder
from interfaces.api.deps import CurrentUserId, LedgerDep
from interfaces.api.errors import AUTHED, NOT_FOUND
from interfaces.api.schemas_history import EventOut, TaskHistoryOut
from projections.envelope import envelope

router = APIRouter(prefix="/api/v1/tasks", tags=["history"])


@router.get("/{task_id}/history", responses={**AUTHED, 404: NOT_FOUND})
def task_history(task_id: UUID, user_id: CurrentUserId, app: LedgerDep) -> TaskHistoryOut:
    """Every event of one of your tasks, oldest first, as public envelopes (deleted tasks too)."""
    events = task_events(app, user_id, task_id)
    recorder: LedgerflowRecorder = app.recorder  # type: ignore[assignment]
    positions = recorder.positions_of(task_id)
    return TaskHistoryOut(
        task_id=task_id,
        events=[
            EventOut.model_validate(envelope(e, positions.get(e.originator_version)))
            for e in events
        ],
    )
