"""Request bodies of the agent endpoints: snake_case canonically, DevFlow's camelCase accepted
(``agentId``, ``taskCount``, ``prUrl``, ``resultFiles``, ...). Free-form objects (``context``,
``resultFiles``) pass through untouched: their keys are never converted."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from domain.agent import NAME_MAX, PROFILE, TEXT_MAX


class CamelIn(BaseModel):
    """A body that accepts snake_case and camelCase names and refuses unknown fields."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)

    def sent(self) -> dict[str, Any]:
        """The fields the client sent, by their canonical names."""
        return self.model_dump(exclude_unset=True, by_alias=False)


Name = Field(default=None, min_length=1, max_length=NAME_MAX)


class AgentProfileIn(CamelIn):
    """The fields of an agent (002's and DevFlow's together)."""

    name: str | None = Name
    agent_version: str | None = Field(
        default=None,
        max_length=NAME_MAX,
        validation_alias=AliasChoices("agent_version", "agentVersion", "version"),
        description="the agent's software version (DevFlow's `version`)",
    )
    platform: str | None = Field(default=None, examples=["darwin", "linux", "win32"])
    capabilities: list[str] | None = Field(default=None, examples=[["fix-bug", "review-pr"]])
    description: str | None = Field(default=None, max_length=TEXT_MAX)
    role: str | None = Field(default=None, max_length=NAME_MAX)
    llm_provider: str | None = Field(default=None, max_length=NAME_MAX)
    llm_model: str | None = Field(default=None, max_length=NAME_MAX)
    system_prompt: str | None = Field(default=None, max_length=TEXT_MAX)
    enabled_tools: list[str] | None = None
    worker_id: UUID | None = None

    def profile(self) -> dict[str, Any]:
        """The profile fields sent (nulls dropped)."""
        return {k: v for k, v in self.sent().items() if v is not None and k in PROFILE}


class AgentIn(AgentProfileIn):
    """Register an agent (``agent_key`` is DevFlow's ``agentId``; without it, the name)."""

    agent_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=NAME_MAX,
        validation_alias=AliasChoices("agent_key", "agentKey", "agentId"),
    )
    user_id: str | None = Field(
        default=None, max_length=NAME_MAX, description="ignored: the owner is the caller"
    )


class HeartbeatIn(CamelIn):
    """DevFlow's heartbeat body (every field optional)."""

    status: str = Field(default="ready", examples=["ready", "busy", "error"])
    uptime: int | None = Field(default=None, ge=0)
    task_count: int | None = Field(default=None, ge=0)
    memory_usage: float | None = Field(default=None, ge=0)
    cpu_usage: float | None = Field(default=None, ge=0)


class ProgressIn(CamelIn):
    """A progress report: a fraction 0..1, the current step, details."""

    status: str | None = Field(default=None, examples=["in_progress"])
    step: str | None = Field(default=None, max_length=NAME_MAX)
    progress: float | None = None
    details: str | None = Field(default=None, max_length=TEXT_MAX)


class CompleteIn(CamelIn):
    """A completion; ``success: false`` is a failure with ``error = summary``."""

    success: bool = True
    summary: str | None = Field(default=None, max_length=TEXT_MAX)
    output: str | None = Field(default=None, max_length=100_000)
    pr_url: str | None = Field(default=None, max_length=2000)
    result_files: Any = None


class FailIn(CamelIn):
    """A failure: the error, details and logs (kept up to 64 KiB; more than 256 KiB is refused)."""

    error: str = Field(min_length=1, max_length=TEXT_MAX)
    details: str | None = Field(default=None, max_length=TEXT_MAX)
    logs: str | None = Field(default=None, max_length=256 * 1024)


class ExecuteIn(CamelIn):
    """DevFlow's execute: queue ``taskId`` for agents with capability ``intent``."""

    task_id: str = Field(min_length=1, max_length=NAME_MAX)
    intent: str = Field(min_length=1, max_length=NAME_MAX)
    repo: str = Field(min_length=1, max_length=2000)
    branch: str | None = Field(default=None, max_length=NAME_MAX)
    natural_language: str = Field(min_length=1, max_length=5000)


class DeadLetterIn(CamelIn):
    """Put a task in the dead-letter queue by hand."""

    task_id: UUID
    reason: str = Field(default="manual", min_length=1, max_length=NAME_MAX)
