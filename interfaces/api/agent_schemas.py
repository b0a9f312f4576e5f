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


class AgentProfileIn(CamelIn):
    """The fields of an agent (002's and DevFlow's together)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"description": "Reviews pull requests", "capabilities": ["fix-bug", "review-pr"]}
            ]
        }
    )

    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=NAME_MAX,
        description="the agent's display name",
        examples=["reviewer-bot"],
    )
    agent_version: str | None = Field(
        default=None,
        max_length=NAME_MAX,
        validation_alias=AliasChoices("agent_version", "agentVersion", "version"),
        description="the agent's software version (DevFlow's `version`)",
        examples=["1.4.2"],
    )
    platform: str | None = Field(
        default=None,
        examples=["darwin", "linux", "win32"],
        description="the operating system the agent runs on",
    )
    capabilities: list[str] | None = Field(
        default=None,
        examples=[["fix-bug", "review-pr"]],
        description="the intents this agent takes tasks for",
    )
    description: str | None = Field(
        default=None,
        max_length=TEXT_MAX,
        description="what the agent does, free text",
        examples=["Reviews pull requests"],
    )
    role: str | None = Field(
        default=None,
        max_length=NAME_MAX,
        description="the agent's role in a team of agents (002)",
        examples=["reviewer"],
    )
    llm_provider: str | None = Field(
        default=None,
        max_length=NAME_MAX,
        description="the language-model provider the agent uses",
        examples=["anthropic"],
    )
    llm_model: str | None = Field(
        default=None,
        max_length=NAME_MAX,
        description="the language model the agent uses",
        examples=["claude-sonnet"],
    )
    system_prompt: str | None = Field(
        default=None,
        max_length=TEXT_MAX,
        description="the agent's system prompt, kept for reference",
        examples=["You review code carefully."],
    )
    enabled_tools: list[str] | None = Field(
        default=None, description="tools the agent may use", examples=[["git", "pytest"]]
    )
    worker_id: UUID | None = Field(
        default=None,
        description="the worker machine that hosts the agent (002 workers)",
        examples=["9c0d1e2f-3a4b-4c5d-9e6f-8091a2b3c4d5"],
    )

    def profile(self) -> dict[str, Any]:
        """The profile fields sent (nulls dropped)."""
        return {k: v for k, v in self.sent().items() if v is not None and k in PROFILE}


class AgentIn(AgentProfileIn):
    """Register an agent (``agent_key`` is DevFlow's ``agentId``; without it, the name)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "reviewer-bot",
                    "agentId": "agent-mac-01",
                    "version": "1.4.2",
                    "platform": "linux",
                    "capabilities": ["fix-bug", "review-pr"],
                }
            ]
        }
    )

    agent_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=NAME_MAX,
        validation_alias=AliasChoices("agent_key", "agentKey", "agentId"),
        description="your stable key for the agent (DevFlow's agentId); default: the name",
        examples=["agent-mac-01"],
    )
    user_id: str | None = Field(
        default=None,
        max_length=NAME_MAX,
        description="ignored: the owner is the caller",
        examples=["johndoe"],
    )


class HeartbeatIn(CamelIn):
    """DevFlow's heartbeat body (every field optional)."""

    status: str = Field(
        default="ready",
        examples=["ready", "busy", "error"],
        description="the agent's state: ready, busy or error",
    )
    uptime: int | None = Field(
        default=None, ge=0, description="seconds since the agent started", examples=[3600]
    )
    task_count: int | None = Field(
        default=None, ge=0, description="tasks the agent is working on", examples=[1]
    )
    memory_usage: float | None = Field(
        default=None, ge=0, description="memory in use, as the agent reports it", examples=[512.5]
    )
    cpu_usage: float | None = Field(
        default=None,
        ge=0,
        description="CPU use in percent, as the agent reports it",
        examples=[12.5],
    )


class ProgressIn(CamelIn):
    """A progress report: a fraction 0..1, the current step, details."""

    status: str | None = Field(
        default=None,
        examples=["in_progress"],
        description="the task's status word; only in_progress is accepted",
    )
    step: str | None = Field(
        default=None,
        max_length=NAME_MAX,
        description="what the agent is doing now",
        examples=["running tests"],
    )
    progress: float | None = Field(
        default=None,
        description="how far along, from 0 to 1 (percentages up to 100 are divided by 100)",
        examples=[0.5],
    )
    details: str | None = Field(
        default=None,
        max_length=TEXT_MAX,
        description="free-text details of the progress",
        examples=["12 of 24 tests passed"],
    )


class CompleteIn(CamelIn):
    """A completion; ``success: false`` is a failure with ``error = summary``."""

    success: bool = Field(
        default=True,
        description="false reports a failure, with summary as the error",
        examples=[True],
    )
    summary: str | None = Field(
        default=None,
        max_length=TEXT_MAX,
        description="what was done, in a sentence or two",
        examples=["Fixed the null check in login"],
    )
    output: str | None = Field(
        default=None,
        max_length=100_000,
        description="the command output or report (up to 100,000 characters)",
        examples=["24 passed in 3.1s"],
    )
    pr_url: str | None = Field(
        default=None,
        max_length=2000,
        description="the pull request the agent opened, if any",
        examples=["https://github.com/acme/app/pull/42"],
    )
    result_files: Any = Field(
        default=None,
        description="files the agent produced, as it describes them (kept as sent)",
        examples=[[{"path": "src/login.py"}]],
    )


class FailIn(CamelIn):
    """A failure: the error, details and logs (kept up to 64 KiB; more than 256 KiB is refused)."""

    error: str = Field(
        min_length=1,
        max_length=TEXT_MAX,
        description="why the task failed, in one sentence",
        examples=["Tests fail after the change"],
    )
    details: str | None = Field(
        default=None,
        max_length=TEXT_MAX,
        description="more about the failure",
        examples=["test_login fails with KeyError"],
    )
    logs: str | None = Field(
        default=None,
        max_length=256 * 1024,
        description="the end of the agent's log (up to 64 KiB kept)",
        examples=["Traceback (most recent call last): ..."],
    )


class ExecuteIn(CamelIn):
    """DevFlow's execute: queue ``taskId`` for agents with capability ``intent``."""

    task_id: str = Field(
        min_length=1,
        max_length=NAME_MAX,
        description="your own id for the task to queue (DevFlow's taskId)",
        examples=["task-001"],
    )
    intent: str = Field(
        min_length=1,
        max_length=NAME_MAX,
        description="the capability an agent needs to take the task",
        examples=["fix-bug"],
    )
    repo: str = Field(
        min_length=1,
        max_length=2000,
        description="the repository the agent works in",
        examples=["https://github.com/acme/app"],
    )
    branch: str | None = Field(
        default=None, max_length=NAME_MAX, description="the branch to work on", examples=["main"]
    )
    natural_language: str = Field(
        min_length=1,
        max_length=5000,
        description="what to do, in plain words",
        examples=["Fix the login bug on empty passwords"],
    )


class DeadLetterIn(CamelIn):
    """Put a task in the dead-letter queue by hand."""

    task_id: UUID = Field(
        description="the task to put in the dead-letter queue",
        examples=["0b9d5c7e-4f4e-4a8e-9a53-6f1b2c3d4e5f"],
    )
    reason: str = Field(
        default="manual",
        min_length=1,
        max_length=NAME_MAX,
        description="why it is put there",
        examples=["manual"],
    )
