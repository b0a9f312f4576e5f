"""Request and response bodies of flows, steps and runs (CONTRACT A.1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.flow import DESCRIPTION_MAX, NAME_MAX
from interfaces.api.schema_fields import CreatedAt, UpdatedAt
from interfaces.api.schemas import PageOut, StrictIn
from interfaces.api.schemas_runs import CancelIn, RunIn, RunListOut, RunOut, StepRunOut

__all__ = [
    "CancelIn",
    "FlowIn",
    "FlowListOut",
    "FlowOut",
    "FlowUpdateIn",
    "RunIn",
    "RunListOut",
    "RunOut",
    "StepIn",
    "StepOut",
    "StepRunOut",
    "StepUpdateIn",
]


class StepIn(StrictIn):
    """A step: inline in a flow, or added on its own (002 spells ``type`` as ``step_type``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "key": "notify",
                    "name": "Notify",
                    "type": "task",
                    "config": {"name": "Announce {{ inputs.ref }}"},
                }
            ]
        }
    )

    name: str = Field(
        min_length=1, max_length=200, description="the step's name", examples=["Build"]
    )
    key: str | None = Field(
        default=None, description="[a-z0-9_-]{1,64}; default: slug of name", examples=["build"]
    )
    type: str | None = Field(
        default=None, description="task, agent, approval, http or delay", examples=["task"]
    )
    step_type: str | None = Field(
        default=None, description="002's spelling of type", examples=["task"]
    )
    order: int | None = Field(
        default=None,
        ge=0,
        description="its place among the flow's steps, from 0; default: after the last",
        examples=[0],
    )
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="the step type's settings, e.g. a task's name or a delay's seconds"
        " (docs/flows.md)",
        examples=[{"name": "Build {{ inputs.ref }}"}],
    )
    agent_id: UUID | None = Field(
        default=None,
        description="the agent that runs an agent step",
        examples=["a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"],
    )
    depends_on: list[str] | None = Field(
        default=None,
        description="step keys or ids; absent: the previous step; []: a root",
        examples=[["build"]],
    )
    timeout_seconds: int | None = Field(
        default=None,
        ge=1,
        le=2_592_000,
        description="how long an attempt may run before it fails",
        examples=[600],
    )
    max_attempts: int = Field(
        default=1, ge=1, le=10, description="attempts before the step fails", examples=[3]
    )
    retry_backoff_seconds: float = Field(
        default=5.0,
        ge=0,
        le=3600,
        description="seconds before the first retry (doubling after each)",
        examples=[5.0],
    )
    continue_on_failure: bool = Field(
        default=False, description="true: the steps after it run even if it fails", examples=[False]
    )

    def raw(self) -> dict[str, Any]:
        """The step as the domain takes it."""
        values = self.model_dump(exclude={"step_type"})
        values["type"] = self.type or self.step_type or ""
        return values


class StepUpdateIn(StrictIn):
    """A partial change of a step: only the fields sent change."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Build and test", "timeout_seconds": 900}]}
    )

    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="a new name",
        examples=["Build and test"],
    )
    type: str | None = Field(
        default=None,
        description="a new type: task, agent, approval, http or delay",
        examples=["task"],
    )
    step_type: str | None = Field(
        default=None, description="002's spelling of type", examples=["task"]
    )
    order: int | None = Field(
        default=None, ge=0, description="a new place among the steps", examples=[1]
    )
    config: dict[str, Any] | None = Field(
        default=None,
        description="new settings of the step type (replace the old ones)",
        examples=[{"seconds": 10}],
    )
    agent_id: UUID | None = Field(
        default=None,
        description="a new agent for an agent step",
        examples=["a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"],
    )
    depends_on: list[str] | None = Field(
        default=None,
        description="new dependencies: step keys or ids ([]: a root)",
        examples=[["build"]],
    )
    timeout_seconds: int | None = Field(
        default=None, ge=1, le=2_592_000, description="a new timeout per attempt", examples=[900]
    )
    max_attempts: int | None = Field(
        default=None, ge=1, le=10, description="a new number of attempts", examples=[2]
    )
    retry_backoff_seconds: float | None = Field(
        default=None, ge=0, le=3600, description="a new first retry delay", examples=[10.0]
    )
    continue_on_failure: bool | None = Field(
        default=None, description="true: the steps after it run even if it fails", examples=[True]
    )

    def changes(self) -> dict[str, Any]:
        """The fields the client sent."""
        sent = self.model_dump(exclude_unset=True)
        if "step_type" in sent:
            sent["type"] = sent.pop("step_type")
        return sent


class FlowIn(StrictIn):
    """A new flow."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Release",
                    "description": "Build, wait, deploy",
                    "steps": [
                        {
                            "key": "build",
                            "name": "Build",
                            "type": "task",
                            "config": {"name": "Build {{ inputs.ref }}"},
                        },
                        {
                            "key": "wait",
                            "name": "Cool down",
                            "type": "delay",
                            "config": {"seconds": 5},
                        },
                    ],
                }
            ]
        }
    )

    name: str = Field(
        min_length=1, max_length=NAME_MAX, description="the flow's name", examples=["Release"]
    )
    description: str = Field(
        default="",
        max_length=DESCRIPTION_MAX,
        description="what the flow does",
        examples=["Build, wait, deploy"],
    )
    is_template: bool = Field(
        default=False, description="true marks the flow as a template to copy", examples=[False]
    )
    is_active: bool = Field(
        default=True, description="false keeps the flow from starting runs", examples=[True]
    )
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="free-form settings of the flow (kept as sent)",
        examples=[{"team": "platform"}],
    )
    steps: list[StepIn] = Field(
        default_factory=list,
        max_length=200,
        description="the flow's steps; dependencies make a DAG",
    )

    def fields(self) -> dict[str, Any]:
        """The flow as the domain takes it."""
        values = self.model_dump(exclude={"steps"})
        values["steps"] = [step.raw() for step in self.steps]
        return values


class FlowUpdateIn(StrictIn):
    """A partial change of a flow (``steps`` replaces them all)."""

    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=NAME_MAX,
        description="a new name",
        examples=["Release v2"],
    )
    description: str | None = Field(
        default=None,
        max_length=DESCRIPTION_MAX,
        description="a new description",
        examples=["Build, test, deploy"],
    )
    is_template: bool | None = Field(
        default=None, description="true marks it as a template", examples=[False]
    )
    is_active: bool | None = Field(
        default=None, description="false stops it from starting runs", examples=[True]
    )
    config: dict[str, Any] | None = Field(
        default=None,
        description="new free-form settings (replace the old ones)",
        examples=[{"team": "platform"}],
    )
    steps: list[StepIn] | None = Field(
        default=None, max_length=200, description="new steps, replacing all the old ones"
    )

    def changes(self) -> dict[str, Any]:
        """The fields the client sent."""
        sent = {k: v for k, v in self.model_dump(exclude_unset=True).items() if v is not None}
        if self.steps is not None:
            sent["steps"] = [step.raw() for step in self.steps]
        return sent


class StepOut(BaseModel):
    """A step of a flow (sealed header values masked)."""

    step_id: UUID = Field(
        description="the step's id", examples=["d4e5f6a7-b8c9-4d0e-9f2a-3b4c5d6e7f80"]
    )
    key: str = Field(description="its key, unique in the flow", examples=["build"])
    name: str = Field(description="its name", examples=["Build"])
    type: str = Field(description="task, agent, approval, http or delay", examples=["task"])
    order: int = Field(description="its place among the steps, from 0", examples=[0])
    config: dict[str, Any] = Field(
        description="the step type's settings (sealed header values masked)",
        examples=[{"name": "Build {{ inputs.ref }}"}],
    )
    agent_id: UUID | None = Field(
        description="the agent of an agent step", examples=["a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"]
    )
    depends_on: list[UUID] = Field(description="the ids of the steps it waits for", examples=[[]])
    timeout_seconds: int | None = Field(description="how long an attempt may run", examples=[600])
    max_attempts: int = Field(description="attempts before it fails", examples=[3])
    retry_backoff_seconds: float = Field(
        description="seconds before the first retry", examples=[5.0]
    )
    continue_on_failure: bool = Field(
        description="true: the steps after it run even if it fails", examples=[False]
    )


class FlowOut(BaseModel):
    """A flow with its steps."""

    flow_id: UUID = Field(
        description="the flow's id", examples=["c3d4e5f6-a7b8-4c9d-8e1f-2a3b4c5d6e7f"]
    )
    name: str = Field(description="its name", examples=["Release"])
    description: str = Field(description="what it does", examples=["Build, wait, deploy"])
    is_template: bool = Field(description="true for a template", examples=[False])
    is_active: bool = Field(description="false: it starts no runs", examples=[True])
    config: dict[str, Any] = Field(description="its free-form settings", examples=[{}])
    steps: list[StepOut] = Field(description="its steps, in order")
    steps_count: int = Field(description="how many steps it has", examples=[2])
    trigger_type: str = Field(
        default="manual",
        description="how runs start: manual, schedule or trigger",
        examples=["manual"],
    )
    schedule: str | None = Field(
        default=None, description="its cron schedule, if any", examples=["0 9 * * 1-5"]
    )
    last_run_at: datetime | None = Field(
        description="when its last run started", examples=["2026-12-01T10:00:00Z"]
    )
    created_at: CreatedAt
    updated_at: UpdatedAt
    version: int = Field(description="the flow's version; also its ETag", examples=[1])
    position: int | None = Field(
        default=None,
        description="after a command: the log position that recorded it",
        examples=[42],
    )


class FlowListOut(PageOut):
    """A page of flows."""

    flows: list[FlowOut] = Field(description="the flows of this page")
