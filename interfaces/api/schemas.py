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
    model_validator,
)

from domain.task_value import DESCRIPTION_MAX, NAME_MAX, TAG_MAX, TAGS_MAX, TaskPriority, TaskStatus
from domain.user import EMAIL_MAX, PERSON_NAME_MAX
from interfaces.api.query import in_utc

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


class RegisterIn(StrictIn):
    """Create an account: a username (Behflow) or an email (002, AstraFlow), or both.

    Without a username, the email is the username. 002's ``full_name`` fills ``name`` and
    ``lastname`` (split at the first space) when they are not given.
    """

    username: str = Field(default="", max_length=EMAIL_MAX, examples=["johndoe"])
    password: str = Field(min_length=1, max_length=1024, examples=["securepass123"])
    name: str = Field(default="", max_length=PERSON_NAME_MAX, examples=["John"])
    lastname: str = Field(default="", max_length=PERSON_NAME_MAX, examples=["Doe"])
    email: str | None = Field(default=None, max_length=EMAIL_MAX, examples=["john@example.com"])
    full_name: str | None = Field(default=None, max_length=2 * PERSON_NAME_MAX + 1)

    @model_validator(mode="after")
    def _seed_words(self) -> RegisterIn:
        if not self.username:
            if self.email is None:
                raise ValueError("give a username or an email")
            self.username = self.email
        if self.full_name and not (self.name or self.lastname):
            self.name, _, self.lastname = self.full_name.strip().partition(" ")
            self.lastname = self.lastname.strip()
        return self


class LoginIn(StrictIn):
    """Credentials to exchange for a token: a username or an email address, and the password
    (``totp_code`` when the account has MFA on)."""

    username: str | None = Field(default=None, max_length=EMAIL_MAX, examples=["johndoe"])
    email: str | None = Field(default=None, max_length=EMAIL_MAX)
    password: str = Field(max_length=1024)
    totp_code: str | None = Field(default=None, max_length=12)

    @model_validator(mode="after")
    def _one_login(self) -> LoginIn:
        if not (self.username or self.email):
            raise ValueError("give a username or an email")
        return self

    @property
    def login(self) -> str:
        """The name the user signs in with: the username, else the email."""
        return self.username or self.email or ""


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

    name: str = Field(min_length=1, max_length=NAME_MAX, validation_alias=NAME_WORDS)
    description: str = Field(default="", max_length=DESCRIPTION_MAX)
    priority: TaskPriority = TaskPriority.MEDIUM
    due_date: AwareDatetime | None = Field(default=None, validation_alias=DUE_WORDS)
    tags: list[Tag] = Field(default_factory=list, max_length=TAGS_MAX)


class TaskUpdateIn(StrictIn):
    """A partial change: only the fields sent are changed."""

    name: str | None = Field(
        default=None, min_length=1, max_length=NAME_MAX, validation_alias=NAME_WORDS
    )
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX)
    status: TaskStatusIn | None = None
    priority: TaskPriority | None = None
    due_date: AwareDatetime | None = Field(default=None, validation_alias=DUE_WORDS)
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
    taken_by: UUID | None = Field(
        default=None,
        description="the agent that took the task (its lease holder, or the last one)",
        examples=["0f8c2a43-6d2e-4a55-9a51-3b0c6ad5e0d1"],
    )
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

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id(self) -> UUID:
        """The task's id again, as AstraFlow and DevFlow name it."""
        return self.task_id


class TaskWrittenOut(TaskOut):
    """A task after a command, with the log position that recorded the change."""

    position: int = Field(description="pass as X-Ledgerflow-Min-Position to read this write")


class PageOut(BaseModel):
    """The paging fields of every list: offsets, and the same page counted from 1."""

    total: int
    limit: int
    offset: int
    has_more: bool
    page: int = Field(description="1-based page number (AstraFlow's page)")
    per_page: int
    pages: int


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

    tasks: list[TaskOut]


class HealthOut(BaseModel):
    """Liveness and what the service depends on."""

    status: str
    service: str = "ledgerflow"  # 002: "Returns status, service name, version"
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
