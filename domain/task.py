"""The Task aggregate: a unit of work owned by a user (Behflow's task)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.dispatch import (
    DEFAULT_MAX_ATTEMPTS,
    LEASE_LOSSES_MAX,
    RESULT,
    LeaseNotHeld,
    TaskCancelled,
    TaskFinished,
    TaskNotQueued,
    capped_logs,
    check_progress,
    checked_dispatch,
    queued,
)
from domain.error import InvalidValue
from domain.ids import new_id
from domain.task_value import (
    FINISHED,
    NAME_MAX,
    VALIDATORS,
    TaskDeleted,
    TaskNotFound,
    TaskPriority,
    TaskStatus,
    due_date_of,
    enum_value,
    tags_of,
)
from domain.value import bounded_text

__all__ = ["Task", "TaskDeleted", "TaskNotFound", "TaskPriority", "TaskStatus"]


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

    class Assigned(Aggregate.Event):
        TOPIC = "task.assigned"
        dispatch: dict[str, Any]

    class Leased(Aggregate.Event):
        TOPIC = "task.leased"
        agent_id: str
        lease_expires_at: datetime
        attempt: int

    class LeaseExtended(Aggregate.Event):
        TOPIC = "task.lease_extended"
        lease_expires_at: datetime

    class LeaseExpired(Aggregate.Event):
        TOPIC = "task.lease_expired"
        agent_id: str
        attempt: int
        reason: str

    class Progressed(Aggregate.Event):
        TOPIC = "task.progressed"
        progress: float | None
        step: str | None
        details: str | None
        lease_expires_at: datetime | None

    class Completed(Aggregate.Event):
        TOPIC = "task.completed"
        summary: str | None
        output: str | None
        pr_url: str | None
        result_files: Any

    class Failed(Aggregate.Event):
        TOPIC = "task.failed"
        error: str
        details: str | None
        logs: str | None
        final: bool  # False: attempts remain, the task goes back to the queue

    class Cancelled(Aggregate.Event):
        TOPIC = "task.cancelled"
        reason: str

    class DeadLettered(Aggregate.Event):
        TOPIC = "task.dead_lettered"
        reason: str

    class Requeued(Aggregate.Event):
        TOPIC = "task.requeued"

    class DeadLetterCleared(Aggregate.Event):
        TOPIC = "task.dead_letter_cleared"

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
        self.agent_id: str | None = None
        self.intent: str | None = None
        self.repo = self.branch = self.instructions = None
        self.context: dict[str, Any] = {}
        self.required_tools: list[str] = []
        self.max_attempts = DEFAULT_MAX_ATTEMPTS
        self.attempts = self.lease_losses = 0
        self.lease_agent_id: str | None = None
        self.lease_expires_at: datetime | None = None
        self.progress: float | None = None
        self.current_step: str | None = None
        self.result: dict[str, Any] | None = None
        self.error: str | None = None
        self.dead_lettered: str | None = None  # the reason, while in the dead-letter queue

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
        """Check the values and create a task that has not started (with ``task_id``, or new)."""
        values = {"name": name, "description": description, "priority": priority}
        checked = {k: VALIDATORS[k](v) for k, v in values.items()}
        checked.update(owner_id=owner_id, due_date=due_date_of(due_date), tags=tags_of(tags))
        return cls._create(cls.Created, id=task_id or new_id(), **checked)

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply a partial change of fields and status; fields that do not change emit nothing."""
        self._ensure_not_deleted()
        unknown = set(changes) - set(VALIDATORS) - {"status"}
        if unknown:
            raise InvalidValue(sorted(unknown)[0], "is not a field of a task")
        checked = {k: VALIDATORS[k](v) for k, v in changes.items() if k != "status"}
        status = changes.get("status")
        new_status = None if status is None else enum_value("status", TaskStatus, status)
        differing = {k: v for k, v in checked.items() if getattr(self, k) != v}
        if differing:
            self._update(changes=differing)
        if new_status is not None and new_status != self.status:
            self._change_status(from_status=self.status, to_status=new_status)

    def delete(self, reason: str = "") -> None:
        """Delete the task (saying why, optionally); it then accepts no change."""
        self._ensure_not_deleted()
        self._delete(reason=bounded_text("reason", reason, max_length=NAME_MAX, required=False))

    def assign(self, fields: Mapping[str, Any]) -> None:
        """Set dispatch fields (intent, agent_id, instructions, ...): agents may then take it."""
        self._ensure_open()
        checked = checked_dispatch(fields)
        differing = {k: v for k, v in checked.items() if getattr(self, k) != v}
        if differing:
            self._assign(dispatch=differing)

    def lease(self, agent_id: UUID, now: datetime, seconds: float) -> None:
        """Hand the queued task to ``agent_id`` until ``now + seconds``."""
        if not queued(self):
            raise TaskNotQueued()
        expires = now + timedelta(seconds=seconds)
        self._lease(agent_id=str(agent_id), lease_expires_at=expires, attempt=self.attempts + 1)

    def held_by(self, agent_id: UUID | None) -> bool:
        """Whether ``agent_id`` holds the live lease of this task."""
        return agent_id is not None and self.lease_agent_id == str(agent_id)

    def extend_lease(self, now: datetime, seconds: float) -> None:
        """Push the lease's expiry to ``now + seconds`` (the holder is alive)."""
        if self.lease_agent_id is not None:
            self._extend(lease_expires_at=now + timedelta(seconds=seconds))

    def expire_lease(
        self, now: datetime, reason: str = "expired", agent_id: UUID | None = None
    ) -> bool:
        """Put the task back in the queue if its lease ran out (or, with ``agent_id``, if that
        agent holds it: the agent went offline or was stopped); False when nothing changed."""
        holder = self.lease_agent_id
        if holder is None or self.status in FINISHED or self.status == TaskStatus.CANCELLED.value:
            return False
        if agent_id is not None and holder != str(agent_id):
            return False
        if agent_id is None and self.lease_expires_at and self.lease_expires_at > now:
            return False
        self._expire(agent_id=holder, attempt=self.attempts, reason=reason)
        if self.lease_losses >= LEASE_LOSSES_MAX:
            self._dead_letter(reason="lease_lost")
        return True

    def report_progress(
        self, by_agent: UUID | None, report: Mapping[str, Any], now: datetime, seconds: float
    ) -> None:
        """Record progress, step and details (``by_agent`` None: the owner); it extends the
        lease."""
        self._ensure_reporter(by_agent)
        progress = check_progress(report.get("progress"))
        expires = now + timedelta(seconds=seconds) if self.lease_agent_id else None
        step, details = report.get("step"), report.get("details")
        self._progress(progress=progress, step=step, details=details, lease_expires_at=expires)

    def complete(self, by_agent: UUID | None, result: Mapping[str, Any]) -> None:
        """Record the outcome: completed, with what the agent says it produced."""
        self._ensure_reporter(by_agent)
        self._complete(**{key: result.get(key) for key in RESULT})

    def fail(
        self, by_agent: UUID | None, error: str, details: str | None, logs: str | None
    ) -> bool:
        """Record a failure: back to the queue while attempts remain, else failed and
        dead-lettered. True when final."""
        self._ensure_reporter(by_agent)
        final = by_agent is None or self.attempts >= self.max_attempts
        self._fail(error=error, details=details, logs=capped_logs(logs), final=final)
        if final and by_agent is not None:
            self._dead_letter(reason="max_attempts")
        return final

    def cancel(self, reason: str = "") -> None:
        """Cancel the task; its lease is revoked (an agent's next report gets 409)."""
        if self.status == TaskStatus.CANCELLED.value:
            return
        self._ensure_open()
        self._cancel(reason=bounded_text("reason", reason, max_length=NAME_MAX, required=False))

    def dead_letter(self, reason: str) -> None:
        """Put the task in the dead-letter queue by hand (it becomes failed)."""
        self._ensure_not_deleted()
        if not self.dead_lettered:
            self._dead_letter(reason=bounded_text("reason", reason, max_length=NAME_MAX))

    def requeue(self) -> None:
        """Take the task out of the dead-letter queue and back to agents, attempts reset."""
        self._ensure_not_deleted()
        if not self.dead_lettered:
            raise TaskNotQueued()
        self._requeue()

    def clear_dead_letter(self) -> None:
        """Take the task out of the dead-letter queue; it stays failed."""
        self._ensure_not_deleted()
        if self.dead_lettered:
            self._clear_dead_letter()

    def _ensure_open(self) -> None:
        self._ensure_not_deleted()
        if self.status == TaskStatus.CANCELLED.value:
            raise TaskCancelled(self.status)
        if self.status in FINISHED:
            raise TaskFinished(self.status)

    def _ensure_reporter(self, by_agent: UUID | None) -> None:
        self._ensure_open()
        if by_agent is not None and not self.held_by(by_agent):
            raise LeaseNotHeld()

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

    @event(Assigned)
    def _assign(self, dispatch: dict[str, Any]) -> None:
        for key, value in dispatch.items():
            setattr(self, key, value)

    @event(Leased)
    def _lease(self, agent_id: str, lease_expires_at: datetime, attempt: int) -> None:
        self.lease_agent_id, self.lease_expires_at = agent_id, lease_expires_at
        self.attempts = attempt
        self.status = TaskStatus.IN_PROGRESS.value

    @event(LeaseExtended)
    def _extend(self, lease_expires_at: datetime) -> None:
        self.lease_expires_at = lease_expires_at

    @event(LeaseExpired)
    def _expire(self, agent_id: str, attempt: int, reason: str) -> None:
        self.lease_agent_id = self.lease_expires_at = None
        self.lease_losses += 1
        self.status = TaskStatus.NOT_STARTED.value

    @event(Progressed)
    def _progress(
        self,
        progress: float | None,
        step: str | None,
        details: str | None,
        lease_expires_at: datetime | None,
    ) -> None:
        self.status = TaskStatus.IN_PROGRESS.value
        self.progress = self.progress if progress is None else progress
        self.current_step = step or self.current_step
        self.lease_expires_at = lease_expires_at or self.lease_expires_at

    @event(Completed)
    def _complete(
        self, summary: str | None, output: str | None, pr_url: str | None, result_files: Any
    ) -> None:
        self.status = TaskStatus.COMPLETED.value
        self.result = dict(zip(RESULT, (summary, output, pr_url, result_files), strict=True))
        self.lease_agent_id = self.lease_expires_at = None

    @event(Failed)
    def _fail(self, error: str, details: str | None, logs: str | None, final: bool) -> None:
        self.error = error
        self.lease_agent_id = self.lease_expires_at = None
        self.status = TaskStatus.FAILED.value if final else TaskStatus.NOT_STARTED.value

    @event(Cancelled)
    def _cancel(self, reason: str) -> None:
        self.status = TaskStatus.CANCELLED.value
        self.lease_agent_id = self.lease_expires_at = None

    @event(DeadLettered)
    def _dead_letter(self, reason: str) -> None:
        self.dead_lettered = reason
        self.status = TaskStatus.FAILED.value
        self.lease_agent_id = self.lease_expires_at = None

    @event(Requeued)
    def _requeue(self) -> None:
        self.dead_lettered = None
        self.status = TaskStatus.NOT_STARTED.value
        self.attempts = self.lease_losses = 0
        self.error = None

    @event(DeadLetterCleared)
    def _clear_dead_letter(self) -> None:
        self.dead_lettered = None
