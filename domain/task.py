"""The Task aggregate: a unit of work owned by a user (Behflow's task)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

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


def _enum_value(field: str, enum: type[StrEnum], value: str) -> str:
    try:
        return enum(value).value
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise InvalidValue(field, f"must be one of: {allowed}") from None


def _tags(value: Iterable[str]) -> list[str]:
    tags = [bounded_text("tags", tag, max_length=TAG_MAX) for tag in value]
    if len(tags) > TAGS_MAX:
        raise InvalidValue("tags", f"at most {TAGS_MAX} tags")
    return list(dict.fromkeys(tags))


def _due_date(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise InvalidValue("due_date", "must include a time zone")
    return value


_VALIDATORS: dict[str, Any] = {
    "name": lambda v: bounded_text("name", v, max_length=NAME_MAX),
    "description": lambda v: bounded_text(
        "description", v, max_length=DESCRIPTION_MAX, required=False
    ),
    "priority": lambda v: _enum_value("priority", TaskPriority, v),
    "due_date": _due_date,
    "tags": _tags,
}


class Task(Aggregate):
    """A unit of work with a status and a priority, owned by one user."""

    TOPIC = "task"

    class Created(Aggregate.Created):
        TOPIC = "task.created"
        owner_id: UUID
        name: str
        description: str
        priority: str
        due_date: datetime | None
        tags: list[str]

    class Updated(Aggregate.Event):
        TOPIC = "task.updated"
        changes: dict[str, Any]

    class StatusChanged(Aggregate.Event):
        TOPIC = "task.status_changed"
        from_status: str
        to_status: str

    class Deleted(Aggregate.Event):
        TOPIC = "task.deleted"
        class_version = 2
        reason: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """v1 had no reason: events stored before it load with an empty one."""
            state["reason"] = ""

    @event(Created)
    def __init__(
        self,
        owner_id: UUID,
        name: str,
        description: str,
        priority: str,
        due_date: datetime | None,
        tags: list[str],
    ) -> None:
        self.owner_id = owner_id
        self.name = name
        self.description = description
        self.status = TaskStatus.NOT_STARTED.value
        self.priority = priority
        self.due_date = due_date
        self.tags = list(tags)
        self.deleted = False

    @classmethod
    def create(
        cls,
        owner_id: UUID,
        name: str,
        description: str = "",
        priority: str = TaskPriority.MEDIUM.value,
        due_date: datetime | None = None,
        tags: Iterable[str] = (),
        task_id: UUID | None = None,
    ) -> Task:
        """Check the values and create a task that has not started (with ``task_id`` when the
        caller needs a deterministic id, e.g. the task a step of a run creates)."""
        return cls._create(
            cls.Created,
            id=task_id,
            owner_id=owner_id,
            name=_VALIDATORS["name"](name),
            description=_VALIDATORS["description"](description),
            priority=_VALIDATORS["priority"](priority),
            due_date=_due_date(due_date),
            tags=_tags(tags),
        )

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply a partial change of fields and status; fields that do not change emit nothing."""
        self._ensure_not_deleted()
        unknown = set(changes) - set(_VALIDATORS) - {"status"}
        if unknown:
            raise InvalidValue(sorted(unknown)[0], "is not a field of a task")
        checked = {k: _VALIDATORS[k](v) for k, v in changes.items() if k != "status"}
        status = changes.get("status")
        new_status = None if status is None else _enum_value("status", TaskStatus, status)
        differing = {k: v for k, v in checked.items() if getattr(self, k) != v}
        if differing:
            self._update(changes=differing)
        if new_status is not None and new_status != self.status:
            self._change_status(from_status=self.status, to_status=new_status)

    def delete(self, reason: str = "") -> None:
        """Delete the task (saying why, optionally); it then accepts no change."""
        self._ensure_not_deleted()
        self._delete(reason=bounded_text("reason", reason, max_length=NAME_MAX, required=False))

    def visible_to(self, user_id: UUID) -> bool:
        """True when ``user_id`` may see and change this task."""
        return self.owner_id == user_id and not self.deleted

    def _ensure_not_deleted(self) -> None:
        if self.deleted:
            raise TaskDeleted(self.id)

    @event(Updated)
    def _update(self, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    @event(StatusChanged)
    def _change_status(self, from_status: str, to_status: str) -> None:
        self.status = to_status

    @event(Deleted)
    def _delete(self, reason: str) -> None:
        self.deleted = True
