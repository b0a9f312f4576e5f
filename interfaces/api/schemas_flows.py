"""Request and response bodies of flows, steps and runs (CONTRACT A.1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from domain.flow import DESCRIPTION_MAX, NAME_MAX
from interfaces.api.schemas import StrictIn


class StepIn(StrictIn):
    """A step: inline in a flow, or added on its own (002 spells ``type`` as ``step_type``)."""

    name: str = Field(min_length=1, max_length=200)
    key: str | None = Field(default=None, description="[a-z0-9_-]{1,64}; default: slug of name")
    type: str | None = Field(default=None, description="task, agent, approval, http or delay")
    step_type: str | None = Field(default=None, description="002's spelling of type")
    order: int | None = Field(default=None, ge=0)
    config: dict[str, Any] = Field(default_factory=dict)
    agent_id: UUID | None = None
    depends_on: list[str] | None = Field(
        default=None, description="step keys or ids; absent: the previous step; []: a root"
    )
    timeout_seconds: int | None = Field(default=None, ge=1, le=2_592_000)
    max_attempts: int = Field(default=1, ge=1, le=10)
    retry_backoff_seconds: float = Field(default=5.0, ge=0, le=3600)
    continue_on_failure: bool = False

    def raw(self) -> dict[str, Any]:
        """The step as the domain takes it."""
        values = self.model_dump(exclude={"step_type"})
        values["type"] = self.type or self.step_type or ""
        return values


class StepUpdateIn(StrictIn):
    """A partial change of a step: only the fields sent change."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    type: str | None = None
    step_type: str | None = None
    order: int | None = Field(default=None, ge=0)
    config: dict[str, Any] | None = None
    agent_id: UUID | None = None
    depends_on: list[str] | None = None
    timeout_seconds: int | None = Field(default=None, ge=1, le=2_592_000)
    max_attempts: int | None = Field(default=None, ge=1, le=10)
    retry_backoff_seconds: float | None = Field(default=None, ge=0, le=3600)
    continue_on_failure: bool | None = None

    def changes(self) -> dict[str, Any]:
        """The fields the client sent."""
        sent = self.model_dump(exclude_unset=True)
        if "step_type" in sent:
            sent["type"] = sent.pop("step_type")
        return sent


class FlowIn(StrictIn):
    """A new flow."""

    name: str = Field(min_length=1, max_length=NAME_MAX)
    description: str = Field(default="", max_length=DESCRIPTION_MAX)
    is_template: bool = False
    is_active: bool = True
    config: dict[str, Any] = Field(default_factory=dict)
    steps: list[StepIn] = Field(default_factory=list, max_length=200)

    def fields(self) -> dict[str, Any]:
        """The flow as the domain takes it."""
        values = self.model_dump(exclude={"steps"})
        values["steps"] = [step.raw() for step in self.steps]
        return values


class FlowUpdateIn(StrictIn):
    """A partial change of a flow (``steps`` replaces them all)."""

    name: str | None = Field(default=None, min_length=1, max_length=NAME_MAX)
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX)
    is_template: bool | None = None
    is_active: bool | None = None
    config: dict[str, Any] | None = None
    steps: list[StepIn] | None = Field(default=None, max_length=200)

    def changes(self) -> dict[str, Any]:
        """The fields the client sent."""
        sent = {k: v for k, v in self.model_dump(exclude_unset=True).items() if v is not None}
        if self.steps is not None:
            sent["steps"] = [step.raw() for step in self.steps]
        return sent


class RunIn(StrictIn):
    """Inputs of a run (templates in step configs read them as ``{{ inputs.<path> }}``)."""

    inputs: dict[str, Any] = Field(default_factory=dict)


class CancelIn(StrictIn):
    """Why a run is cancelled."""

    reason: str = Field(default="", max_length=500)


class StepOut(BaseModel):
    """A step of a flow (sealed header values masked)."""

    step_id: UUID
    key: str
    name: str
    type: str
    order: int
    config: dict[str, Any]
    agent_id: UUID | None
    depends_on: list[UUID]
    timeout_seconds: int | None
    max_attempts: int
    retry_backoff_seconds: float
    continue_on_failure: bool


class FlowOut(BaseModel):
    """A flow with its steps."""

    flow_id: UUID
    name: str
    description: str
    is_template: bool
    is_active: bool
    config: dict[str, Any]
    steps: list[StepOut]
    steps_count: int
    trigger_type: str = "manual"
    schedule: str | None = None
    last_run_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    position: int | None = None


class FlowListOut(BaseModel):
    """A page of flows."""

    flows: list[FlowOut]
    total: int
    limit: int
    offset: int
    has_more: bool
    page: int
    per_page: int
    pages: int


class StepRunOut(BaseModel):
    """The state of one step of a run."""

    step_id: UUID
    key: str
    name: str
    type: str
    status: str
    attempt: int
    started_at: datetime | None = None
    completed_at: datetime | None = None
    duration_ms: int | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    task_id: UUID | None = None
    approval_id: UUID | None = None


class RunOut(BaseModel):
    """A run (with its steps in the detail)."""

    run_id: UUID
    flow_id: UUID
    flow_name: str
    flow_version: int
    status: str
    trigger: str
    trigger_id: UUID | None = None
    inputs: dict[str, Any]
    created_by: str
    correlation_id: str
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error: str | None = None
    steps_total: int
    steps_succeeded: int = 0
    steps_failed: int = 0
    steps: list[StepRunOut] | None = None
    version: int
    position: int | None = None


class RunListOut(BaseModel):
    """A page of runs."""

    runs: list[RunOut]
    total: int
    limit: int
    offset: int
    has_more: bool
    page: int
    per_page: int
    pages: int
