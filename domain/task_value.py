"""The values of a task: its enums, limits, not-found errors and field validators."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.error import InvalidValue, NotFound
from domain.value import bounded_text

NAME_MAX = 200
DESCRIPTION_MAX = 5000
TAGS_MAX = 20
TAG_MAX = 50


class TaskStatus(StrEnum):
    """Where a task stands (Behflow's enum)."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    BLOCKED = "blocked"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = frozenset({TaskStatus.COMPLETED.value, TaskStatus.FAILED.value})


class TaskPriority(StrEnum):
    """How urgent a task is (Behflow's enum)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class TaskNotFound(NotFound):
    """No such task, or not one the actor may see."""

    kind = "task"


class TaskDeleted(TaskNotFound):
    """The task was deleted and accepts no further change."""


def enum_value(field: str, enum: type[StrEnum], value: str) -> str:
    try:
        return enum(value).value
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise InvalidValue(field, f"must be one of: {allowed}") from None


def tags_of(value: Iterable[str]) -> list[str]:
    tags = [bounded_text("tags", tag, max_length=TAG_MAX) for tag in value]
    if len(tags) > TAGS_MAX:
        raise InvalidValue("tags", f"at most {TAGS_MAX} tags")
    return list(dict.fromkeys(tags))


def due_date_of(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise InvalidValue("due_date", "must include a time zone")
    return value


VALIDATORS: dict[str, Any] = {
    "name": lambda v: bounded_text("name", v, max_length=NAME_MAX),
    "description": lambda v: bounded_text(
        "description", v, max_length=DESCRIPTION_MAX, required=False
    ),
    "priority": lambda v: enum_value("priority", TaskPriority, v),
    "due_date": due_date_of,
    "tags": tags_of,
}
