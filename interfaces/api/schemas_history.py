"""Response bodies of the history endpoints."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field


class EventOut(BaseModel):
    """The public envelope of one event (projections/envelope.py)."""

    event_id: UUID
    type: str = Field(examples=["task.created"])
    event: str = Field(examples=["task.created"], description="the same as type (DevFlow, 002)")
    position: int | None
    aggregate_id: UUID
    aggregate_type: str
    version: int
    occurred_at: str
    actor: str | None
    correlation_id: str | None
    data: dict[str, Any]


class TaskHistoryOut(BaseModel):
    """A task's events, oldest first."""

    task_id: UUID
    events: list[EventOut]
