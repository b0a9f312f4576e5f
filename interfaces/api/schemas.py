"""Request and response bodies (Behflow's field names; snake_case everywhere)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from domain.task_value import DESCRIPTION_MAX, NAME_MAX, TAG_MAX, TAGS_MAX, TaskPriority, TaskStatus
from domain.user import PERSON_NAME_MAX

Tag = Annotated[str, StringConstraints(min_length=1, max_length=TAG_MAX)]


class StrictIn(BaseModel):
    """Request bodies refuse unknown fields, so a typo is an error and not a silent no-op."""

    model_config = ConfigDict(extra="forbid")


class RegisterIn(StrictIn):
    """Create an account."""

    username: str = Field(min_length=3, max_length=64, examples=["johndoe"])
    password: str = Field(min_length=1, max_length=1024, examples=["securepass123"])
    name: str = Field(default="", max_length=PERSON_NAME_MAX, examples=["John"])
    lastname: str = Field(default="", max_length=PERSON_NAME_MAX, examples=["Doe"])


class LoginIn(StrictIn):
    """Credentials to exchange for a token (``totp_code`` when the account has MFA on)."""

    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    totp_code: str | None = Field(default=None, max_length=12)


class UserOut(BaseModel):
    """A user's public profile."""

    user_id: UUID
    username: str
    name: str
    lastname: str


class LoginOut(BaseModel):
    """An access token (Behflow's ``token``), a refresh token, and who they belong to."""

    token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int
    user: UserOut


class TokenPairOut(BaseModel):
    """An access token and a refresh token (RFC 6749 field names)."""

    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int
    user: UserOut | None = None


class RefreshIn(StrictIn):
    """A refresh token to exchange (it rotates: the old one stops working)."""

    refresh_token: str = Field(max_length=512)


class DispatchIn(StrictIn):
    """The fields that hand a task to agents (an ``intent`` or a pinned ``agent_id``)."""

    intent: str | None = Field(default=None, max_length=NAME_MAX, examples=["fix-bug"])
    agent_id: UUID | None = None
    repo: str | None = Field(default=None, max_length=2000)
    branch: str | None = Field(default=None, max_length=NAME_MAX)
    context: dict[str, Any] | None = None
    instructions: str | None = Field(default=None, max_length=20_000)
    required_tools: list[Tag] | None = Field(default=None, max_length=50)
    max_attempts: int | None = Field(default=None, ge=1, le=100)

    def dispatch(self) -> dict[str, Any]:
        """The dispatch fields sent (nulls dropped)."""
        sent = self.model_dump(exclude_unset=True, include=set(DispatchIn.model_fields))
        return {k: v for k, v in sent.items() if v is not None}


class TaskIn(DispatchIn):
    """A new task; with an ``intent`` or an ``agent_id`` agents may take it."""

    name: str = Field(min_length=1, max_length=NAME_MAX)
    description: str = Field(default="", max_length=DESCRIPTION_MAX)
    priority: TaskPriority = TaskPriority.MEDIUM
    due_date: AwareDatetime | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=TAGS_MAX)


class TaskUpdateIn(StrictIn):
    """A partial change: only the fields sent are changed."""

    name: str | None = Field(default=None, min_length=1, max_length=NAME_MAX)
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX)
    status: TaskStatus | None = None
    priority: TaskPriority | None = None
    due_date: AwareDatetime | None = None
    tags: list[Tag] | None = Field(default=None, max_length=TAGS_MAX)

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

    task_id: UUID
    name: str
    description: str
    status: TaskStatus
    priority: TaskPriority
    due_date: datetime | None
    created_at: datetime
    updated_at: datetime
    tags: list[str]
    version: int = Field(description="the task's version; also its ETag")
    # Dispatch to agents (docs/agents.md): null for plain tasks.
    intent: str | None = None
    agent_id: UUID | None = None
    repo: str | None = None
    branch: str | None = None
    context: dict[str, Any] | None = None
    instructions: str | None = None
    required_tools: list[str] = Field(default_factory=list)
    max_attempts: int | None = None
    attempts: int = 0
    lease_expires_at: datetime | None = None
    progress: float | None = None
    current_step: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    result: dict[str, Any] | None = None
    error: str | None = None


class TaskWrittenOut(TaskOut):
    """A task after a command, with the log position that recorded the change."""

    position: int = Field(description="pass as X-Ledgerflow-Min-Position to read this write")


class TaskListOut(BaseModel):
    """A page of tasks."""

    tasks: list[TaskOut]
    total: int
    limit: int
    offset: int
    has_more: bool


class HealthOut(BaseModel):
    """Liveness and what the service depends on."""

    status: str
    version: str
    timestamp: datetime
    checks: dict[str, Any]


class CancelIn(StrictIn):
    """Why a task is cancelled (optional)."""

    reason: str = Field(default="", max_length=NAME_MAX)


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
