"""Request and response bodies (Behflow's field names; snake_case everywhere)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from domain.task import DESCRIPTION_MAX, NAME_MAX, TAG_MAX, TAGS_MAX, TaskPriority, TaskStatus
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


class TaskIn(StrictIn):
    """A new task."""

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
    service: str = "ledgerflow"  # 002: "Returns status, service name, version"
    version: str
    timestamp: datetime
    checks: dict[str, Any]
