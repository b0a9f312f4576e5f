"""Request and response bodies (Behflow's field names; snake_case everywhere)."""

from __future__ import annotations

from datetime import datetime
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin
from uuid import UUID

from pydantic import (
    AliasChoices,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    computed_field,
    field_validator,
)

from domain.task_value import DESCRIPTION_MAX, NAME_MAX, TAG_MAX, TAGS_MAX, TaskPriority, TaskStatus
from interfaces.api.query import in_utc
from interfaces.api.schema_fields import CreatedAt, OffsetPageOut, UpdatedAt

Tag = Annotated[str, StringConstraints(min_length=1, max_length=TAG_MAX)]
# AstraFlow's status words, accepted on input (filters and changes); answers stay canonical.
STATUS_WORDS = {"active": TaskStatus.IN_PROGRESS.value, "pending": TaskStatus.NOT_STARTED.value}
TaskStatusIn = Annotated[
    TaskStatus,
    BeforeValidator(lambda v: STATUS_WORDS.get(v, v) if isinstance(v, str) else v),
]
# 002's task words (``title``, ``deadline``) beside Behflow's.
NAME_WORDS = AliasChoices("name", "title")
DUE_WORDS = AliasChoices("due_date", "deadline")


def annotation_kinds(annotation: Any) -> set[Any]:
    """The plain types a field annotation allows (``X | None`` gives {X, NoneType})."""
    args = get_args(annotation)
    if get_origin(annotation) is Annotated:
        return annotation_kinds(args[0])
    if args and get_origin(annotation) in (Union, UnionType):
        return {kind for arg in args for kind in annotation_kinds(arg)}
    return {annotation}


class StrictIn(BaseModel):
    """Request bodies refuse unknown fields, so a typo is an error and not a silent no-op.

    They also refuse the coercions that change what the client meant: a number as a date
    (``due_date: 0`` is not 1970), anything but ``true``/``false`` as a boolean (``0``, ``"no"``),
    and a boolean or a string as an integer. Enums, UUIDs and dates still come as JSON strings.
    """

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_meaning_changing_coercion(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None or info.field_name is None:
            return value
        kinds = annotation_kinds(cls.model_fields[info.field_name].annotation)
        if bool in kinds and not isinstance(value, bool):
            raise ValueError("must be true or false")
        if kinds & {datetime, AwareDatetime} and not isinstance(value, str | datetime):
            raise ValueError("must be an ISO 8601 date-time string")
        if int in kinds and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError("must be an integer")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _times_in_utc(cls, value: Any) -> Any:
        """Every time is stored in UTC (see ``query.in_utc``)."""
        return in_utc(value) if isinstance(value, datetime) else value


class DispatchIn(StrictIn):
    """The fields that hand a task to agents (an ``intent`` or a pinned ``agent_id``)."""

    intent: str | None = Field(
        default=None,
        max_length=NAME_MAX,
        examples=["fix-bug"],
        description="the capability an agent needs to take this task",
    )
    agent_id: UUID | None = Field(
        default=None,
        description="hand the task to this agent only",
        examples=["a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"],
    )
    repo: str | None = Field(
        default=None,
        max_length=2000,
        description="the repository an agent works in",
        examples=["https://github.com/acme/app"],
    )
    branch: str | None = Field(
        default=None, max_length=NAME_MAX, description="the branch to work on", examples=["main"]
    )
    context: dict[str, Any] | None = Field(
        default=None,
        description="free-form data for the agent (kept as sent)",
        examples=[{"issue": 42}],
    )
    instructions: str | None = Field(
        default=None,
        max_length=20_000,
        description="what the agent should do",
        examples=["Fix the failing login test"],
    )
    required_tools: list[Tag] | None = Field(
        default=None,
        max_length=50,
        description="tools an agent must have to take the task",
        examples=[["git", "pytest"]],
    )
    max_attempts: int | None = Field(
        default=None,
        ge=1,
        le=100,
        description="how many times agents may try before the task is dead-lettered",
        examples=[3],
    )

    def dispatch(self) -> dict[str, Any]:
        """The dispatch fields sent (nulls dropped)."""
        sent = self.model_dump(exclude_unset=True, include=set(DispatchIn.model_fields))
        return {k: v for k, v in sent.items() if v is not None}


class TaskIn(DispatchIn):
    """A new task; with an ``intent`` or an ``agent_id`` agents may take it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Review documentation",
                    "description": "Read the README and the docs folder",
                    "priority": "high",
                    "due_date": "2027-01-15T17:00:00Z",
                    "tags": ["docs"],
                }
            ]
        }
    )

    name: str = Field(
        min_length=1,
        max_length=NAME_MAX,
        validation_alias=NAME_WORDS,
        description="the task's name (002's title)",
        examples=["Review documentation"],
    )
    description: str = Field(
        default="",
        max_length=DESCRIPTION_MAX,
        description="what the task is about",
        examples=["Read the README and the docs folder"],
    )
    priority: TaskPriority = Field(
        default=TaskPriority.MEDIUM, description="low, medium, high or urgent", examples=["high"]
    )
    due_date: AwareDatetime | None = Field(
        default=None,
        validation_alias=DUE_WORDS,
        description="when it is due, ISO 8601 with a time zone (002's deadline)",
        examples=["2027-01-15T17:00:00Z"],
    )
    tags: list[Tag] = Field(
        default_factory=list,
        max_length=TAGS_MAX,
        description="labels to filter by",
        examples=[["docs"]],
    )


class TaskUpdateIn(StrictIn):
    """A partial change: only the fields sent are changed."""

    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=NAME_MAX,
        validation_alias=NAME_WORDS,
        description="a new name",
        examples=["Review the documentation again"],
    )
    description: str | None = Field(
        default=None,
        max_length=DESCRIPTION_MAX,
        description="a new description",
        examples=["Also read CHANGELOG.md"],
    )
    status: TaskStatusIn | None = Field(
        default=None,
        description="a new status: not_started, in_progress, completed, failed or cancelled"
        " (AstraFlow's active and pending are accepted)",
        examples=["in_progress"],
    )
    priority: TaskPriority | None = Field(
        default=None, description="a new priority", examples=["urgent"]
    )
    due_date: AwareDatetime | None = Field(
        default=None,
        validation_alias=DUE_WORDS,
        description="a new due date, ISO 8601 with a time zone (null clears it)",
        examples=["2027-01-15T17:00:00Z"],
    )
    tags: list[Tag] | None = Field(
        default=None,
        max_length=TAGS_MAX,
        description="the new labels (replace the old ones)",
        examples=[["docs", "review"]],
    )

    def changes(self) -> dict[str, Any]:
        """The fields the client sent (a ``null`` due_date clears it; other nulls are ignored)."""
        sent = self.model_dump(exclude_unset=True, mode="python")
        return {
            k: (v.value if hasattr(v, "value") else v)
            for k, v in sent.items()
            if v is not None or k == "due_date"
        }


class TaskOut(BaseModel):
    """A task as its owner sees it."""

    task_id: UUID = Field(
        description="the task's id", examples=["0b9d5c7e-4f4e-4a8e-9a53-6f1b2c3d4e5f"]
    )
    name: str = Field(description="the task's name", examples=["Review documentation"])
    description: str = Field(
        description="what the task is about", examples=["Read the README and the docs folder"]
    )
    status: TaskStatus = Field(
        description="not_started, in_progress, completed, failed or cancelled",
        examples=["not_started"],
    )
    priority: TaskPriority = Field(description="low, medium, high or urgent", examples=["high"])
    due_date: datetime | None = Field(
        description="when it is due (UTC), if set", examples=["2026-12-01T10:00:00Z"]
    )
    created_at: CreatedAt
    updated_at: UpdatedAt
    tags: list[str] = Field(description="its labels", examples=[["docs"]])
    version: int = Field(description="the task's version; also its ETag", examples=[1])
    # Dispatch to agents (docs/agents.md): null for plain tasks.
    intent: str | None = Field(
        default=None, description="the capability an agent needs to take it", examples=["fix-bug"]
    )
    agent_id: UUID | None = Field(
        default=None,
        description="the agent it is pinned to or leased by, if any",
        examples=["a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"],
    )
    taken_by: UUID | None = Field(
        default=None,
        description="the agent that took the task (its lease holder, or the last one)",
        examples=["0f8c2a43-6d2e-4a55-9a51-3b0c6ad5e0d1"],
    )
    repo: str | None = Field(
        default=None,
        description="the repository an agent works in",
        examples=["https://github.com/acme/app"],
    )
    branch: str | None = Field(default=None, description="the branch to work on", examples=["main"])
    context: dict[str, Any] | None = Field(
        default=None, description="free-form data for the agent", examples=[{"issue": 42}]
    )
    instructions: str | None = Field(
        default=None,
        description="what the agent should do",
        examples=["Fix the failing login test"],
    )
    required_tools: list[str] = Field(
        default_factory=list, description="tools an agent must have to take it", examples=[["git"]]
    )
    max_attempts: int | None = Field(
        default=None, description="attempts before it is dead-lettered", examples=[3]
    )
    attempts: int = Field(
        default=0, description="how many times agents have taken it", examples=[0]
    )
    lease_expires_at: datetime | None = Field(
        default=None,
        description="when the current agent's lease ends, if leased",
        examples=["2026-12-01T10:05:00Z"],
    )
    progress: float | None = Field(
        default=None, description="how far along, 0 to 1, as the agent reported", examples=[0.5]
    )
    current_step: str | None = Field(
        default=None, description="what the agent reported doing now", examples=["running tests"]
    )
    started_at: datetime | None = Field(
        default=None, description="when work on it started", examples=["2026-12-01T10:00:00Z"]
    )
    completed_at: datetime | None = Field(
        default=None, description="when it finished", examples=["2026-12-01T10:05:00Z"]
    )
    result: dict[str, Any] | None = Field(
        default=None,
        description="what the agent reported on completion",
        examples=[{"summary": "Fixed"}],
    )
    error: str | None = Field(
        default=None,
        description="why it failed, if it did",
        examples=["Tests fail after the change"],
    )

    @computed_field(  # type: ignore[prop-decorator]
        description="the task's id again, as AstraFlow and DevFlow name it",
        examples=["0b9d5c7e-4f4e-4a8e-9a53-6f1b2c3d4e5f"],
    )
    @property
    def id(self) -> UUID:
        """The task's id again, as AstraFlow and DevFlow name it."""
        return self.task_id


class TaskWrittenOut(TaskOut):
    """A task after a command, with the log position that recorded the change."""

    position: int = Field(
        description="pass as X-Ledgerflow-Min-Position to read this write", examples=[42]
    )


class PageOut(OffsetPageOut):
    """The paging fields of every list: offsets, and the same page counted from 1."""

    page: int = Field(description="1-based page number (AstraFlow's page)", examples=[1])
    per_page: int = Field(description="items per page (the same as limit)", examples=[50])
    pages: int = Field(description="how many pages there are at this page size", examples=[1])


def page_fields(total: int, limit: int, offset: int, shown: int) -> dict[str, Any]:
    """The ``PageOut`` fields of a page of ``shown`` items at ``offset``."""
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "has_more": offset + shown < total,
        "page": offset // limit + 1,
        "per_page": limit,
        "pages": -(-total // limit),
    }


class TaskListOut(PageOut):
    """A page of tasks."""

    tasks: list[TaskOut] = Field(description="the tasks of this page")


class CancelIn(StrictIn):
    """Why a task is cancelled (optional)."""

    reason: str = Field(
        default="",
        max_length=NAME_MAX,
        description="why the task is cancelled",
        examples=["no longer needed"],
    )


DISPATCH_OUT = (
    "intent",
    "repo",
    "branch",
    "context",
    "instructions",
    "required_tools",
    "max_attempts",
    "attempts",
    "lease_expires_at",
    "progress",
    "current_step",
    "result",
    "error",
)


def dispatch_of(task: Any) -> dict[str, Any]:
    """The dispatch fields of a task aggregate, for TaskOut."""
    return {"agent_id": task.agent_id, **{name: getattr(task, name) for name in DISPATCH_OUT}}
