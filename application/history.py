"""A task's past: its events in order, and its state at an earlier version or time."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from application.ledger import Ledger
from application.task import TaskCommands
from domain.error import InvalidValue
from domain.task import Task, TaskNotFound


def task_events(ledger: Ledger, owner_id: UUID, task_id: UUID) -> list[Any]:
    """Every event of a task its owner created, in order; deleted tasks included."""
    events = list(ledger.events.get(task_id))
    if not events or not isinstance(events[0], Task.Created) or events[0].owner_id != owner_id:
        raise TaskNotFound(task_id)
    return events


def task_at(
    ledger: Ledger,
    owner_id: UUID,
    task_id: UUID,
    *,
    version: int | None = None,
    as_of: datetime | None = None,
) -> Task:
    """The task as it was at ``version``, or after the last event recorded at or before ``as_of``.

    Before its creation, after its deletion, or past its last version it is not found.
    """
    if (version is None) == (as_of is None):
        raise InvalidValue("as_of", "give exactly one of as_of and version")
    if as_of is not None:
        if as_of.tzinfo is None:
            raise InvalidValue("as_of", "must include a time zone")
        events = task_events(ledger, owner_id, task_id)
        eligible = [int(e.originator_version) for e in events if e.timestamp <= as_of]
        if not eligible:
            raise TaskNotFound(task_id)
        version = eligible[-1]
    task = ledger[TaskCommands].get_task(owner_id, task_id, version=version)
    if task.version != version:
        raise TaskNotFound(task_id)
    return task
