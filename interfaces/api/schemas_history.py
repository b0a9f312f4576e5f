"""Response bodies of the history endpoints."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field


class EventOut(BaseModel):
    """The public envelope of one event (projections/envelope.py)."""

    event_id: UUID = Field(
        description="the event's id", examples=["1a2b3c4d-5e6f-4a7b-9c8d-0e1f2a3b4c5d"]
    )
    type: str = Field(examples=["task.created"], description="the event's type name")
    event: str = Field(examples=["task.created"], description="the same as type (DevFlow, 002)")
    position: int | None = Field(
        description="its position in the log (null until assigned)", examples=[42]
    )
    aggregate_id: UUID = Field(
        description="the id of what changed (a task, a user, ...)",
        examples=["0b9d5c7e-4f4e-4a8e-9a53-6f1b2c3d4e5f"],
    )
    aggregate_type: str = Field(description="what kind of thing changed", examples=["task"])
    version: int = Field(description="the aggregate's version after this event", examples=[1])
    occurred_at: str = Field(
        description="when it happened, ISO 8601 in UTC", examples=["2026-12-01T10:00:00Z"]
    )
    actor: str | None = Field(
        description="who caused it (user:<id>, agent:<id>, system:<name>)",
        examples=["user:5e7c1b2a-9d3f-4c6e-8a1b-2f4d6e8a0c1e"],
    )
    correlation_id: str | None = Field(
        description="shared by the events of one request", examples=["5b1f0e2c-request"]
    )
    data: dict[str, Any] = Field(
        description="the event's fields (docs/events.md lists them per type)",
        examples=[{"name": "Review documentation"}],
    )


class TaskHistoryOut(BaseModel):
    """A task's events, oldest first."""

    task_id: UUID = Field(
        description="the task's id", examples=["0b9d5c7e-4f4e-4a8e-9a53-6f1b2c3d4e5f"]
    )
    events: list[EventOut] = Field(description="the task's events, oldest first")
