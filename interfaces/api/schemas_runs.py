"""Request and response bodies of runs (CONTRACT A.1); ``schemas_flows`` re-exports them."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from interfaces.api.schema_fields import CreatedAt
from interfaces.api.schemas import PageOut, StrictIn


class RunIn(StrictIn):
    """Inputs of a run (templates in step configs read them as ``{{ inputs.<path> }}``)."""

    inputs: dict[str, Any] = Field(
        default_factory=dict,
        description="values the step configs read as {{ inputs.<path> }}",
        examples=[{"ref": "v1.2"}],
    )


class CancelIn(StrictIn):
    """Why a run is cancelled."""

    reason: str = Field(
        default="",
        max_length=500,
        description="why the run is cancelled",
        examples=["started by mistake"],
    )


class StepRunOut(BaseModel):
    """The state of one step of a run."""

    step_id: UUID = Field(
        description="the step's id", examples=["d4e5f6a7-b8c9-4d0e-9f2a-3b4c5d6e7f80"]
    )
    key: str = Field(description="the step's key", examples=["build"])
    name: str = Field(description="the step's name", examples=["Build"])
    type: str = Field(description="the step's type", examples=["task"])
    status: str = Field(
        description="pending, running, waiting, succeeded, failed, skipped or cancelled",
        examples=["succeeded"],
    )
    attempt: int = Field(description="the current or last attempt, from 1", examples=[1])
    started_at: datetime | None = Field(
        default=None, description="when the step started", examples=["2026-12-01T10:00:00Z"]
    )
    completed_at: datetime | None = Field(
        default=None, description="when it finished", examples=["2026-12-01T10:05:00Z"]
    )
    duration_ms: int | None = Field(
        default=None, description="how long it ran, in milliseconds", examples=[1200]
    )
    result: dict[str, Any] | None = Field(
        default=None,
        description="what it produced (later steps read it as {{ steps.<key>.result }})",
        examples=[{"status_code": 200}],
    )
    error: str | None = Field(
        default=None, description="why it failed, if it did", examples=["timed out after 600 s"]
    )
    task_id: UUID | None = Field(
        default=None,
        description="the task a task step created",
        examples=["0b9d5c7e-4f4e-4a8e-9a53-6f1b2c3d4e5f"],
    )
    approval_id: UUID | None = Field(
        default=None,
        description="the approval an approval step waits for",
        examples=["7a8b9c0d-1e2f-4a3b-9c4d-6e7f8091a2b3"],
    )


class RunOut(BaseModel):
    """A run (with its steps in the detail)."""

    run_id: UUID = Field(
        description="the run's id", examples=["e5f6a7b8-c9d0-4e1f-8a3b-4c5d6e7f8091"]
    )
    flow_id: UUID = Field(
        description="the flow it runs", examples=["c3d4e5f6-a7b8-4c9d-8e1f-2a3b4c5d6e7f"]
    )
    flow_name: str = Field(description="the flow's name when the run started", examples=["Release"])
    flow_version: int = Field(
        description="the flow version the run executes (a snapshot)", examples=[1]
    )
    status: str = Field(
        description="pending, running, succeeded, failed or cancelled", examples=["running"]
    )
    trigger: str = Field(
        description="what started it: manual, schedule, trigger or api", examples=["manual"]
    )
    trigger_id: UUID | None = Field(
        default=None,
        description="the schedule or trigger that started it, if any",
        examples=["8b9c0d1e-2f3a-4b4c-8d5e-7f8091a2b3c4"],
    )
    inputs: dict[str, Any] = Field(description="its inputs", examples=[{"ref": "v1.2"}])
    created_by: str = Field(
        description="who started it (user:<id>, or the system)",
        examples=["user:5e7c1b2a-9d3f-4c6e-8a1b-2f4d6e8a0c1e"],
    )
    correlation_id: str = Field(
        description="shared by every event the run caused", examples=["run-e5f6a7b8"]
    )
    created_at: CreatedAt
    started_at: datetime | None = Field(
        default=None, description="when its first step started", examples=["2026-12-01T10:00:00Z"]
    )
    completed_at: datetime | None = Field(
        default=None, description="when it finished", examples=["2026-12-01T10:05:00Z"]
    )
    error: str | None = Field(
        default=None, description="why it failed, if it did", examples=["step build failed"]
    )
    steps_total: int = Field(description="how many steps it has", examples=[2])
    steps_succeeded: int = Field(default=0, description="steps that succeeded so far", examples=[1])
    steps_failed: int = Field(default=0, description="steps that failed so far", examples=[0])
    steps: list[StepRunOut] | None = Field(
        default=None, description="each step's state (in the detail only)"
    )
    version: int = Field(description="the run's version", examples=[3])
    position: int | None = Field(
        default=None,
        description="after a command: the log position that recorded it",
        examples=[42],
    )


class RunListOut(PageOut):
    """A page of runs."""

    runs: list[RunOut] = Field(description="the runs of this page")
