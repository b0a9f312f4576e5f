"""Task commands: create, change and delete a task its owner can see."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from application.context import CommandContext
from application.handlers import Handlers
from application.result import Written
from domain.task import Task, TaskNotFound


@dataclass(frozen=True)
class CreateTask:
    """Create a task for its owner."""

    owner_id: UUID
    name: str
    description: str = ""
    priority: str = "medium"
    due_date: datetime | None = None
    tags: tuple[str, ...] = ()
    dispatch: Mapping[str, Any] = field(default_factory=dict)  # intent, agent_id, ...


class TaskCommands(Handlers):
    """The handlers of the tasks feature."""

    def create_task(
        self,
        context: CommandContext,
        owner_id: UUID,
        name: str,
        description: str = "",
        priority: str = "medium",
        due_date: datetime | None = None,
        tags: tuple[str, ...] | list[str] = (),
    ) -> Written[Task]:
        """Create a task owned by ``owner_id``."""
        command = CreateTask(owner_id, name, description, priority, due_date, tuple(tags))
        task = self._new_task(command)
        return Written(task, self._commit(context, task))

    async def create_task_async(
        self, context: CommandContext, command: CreateTask
    ) -> Written[Task]:
        """``create_task`` for the event loop: no thread is held while the group commits."""
        task = self._new_task(command)
        return Written(task, await self.ledger.submit_async(context, task))

    @staticmethod
    def _new_task(command: CreateTask) -> Task:
        task = Task.create(
            command.owner_id,
            command.name,
            command.description,
            command.priority,
            command.due_date,
            command.tags,
        )
        if command.dispatch:
            task.assign(command.dispatch)  # task.assigned: agents may take it
        return task

    def update_task(
        self,
        context: CommandContext,
        owner_id: UUID,
        task_id: UUID,
        changes: Mapping[str, Any],
        expected_version: int | None = None,
    ) -> Written[Task]:
        """Change fields and status of a task the owner can see."""
        return self._change_task(
            context, owner_id, task_id, expected_version, lambda t: t.update(changes)
        )

    def delete_task(
        self,
        context: CommandContext,
        owner_id: UUID,
        task_id: UUID,
        expected_version: int | None = None,
    ) -> Written[Task]:
        """Delete a task the owner can see."""
        return self._change_task(context, owner_id, task_id, expected_version, Task.delete)

    def cancel_task(
        self, context: CommandContext, owner_id: UUID, task_id: UUID, reason: str = ""
    ) -> Written[Task]:
        """Cancel a task the owner can see; an agent holding it gets 409 on its next report."""
        return self._change_task(context, owner_id, task_id, None, lambda t: t.cancel(reason))

    def get_task(self, owner_id: UUID, task_id: UUID, version: int | None = None) -> Task:
        """A task the owner can see, now or at an earlier ``version``."""
        task = self._load(Task, task_id, TaskNotFound, version)
        if not task.visible_to(owner_id):
            raise TaskNotFound(task_id)
        return task

    def _change_task(
        self,
        context: CommandContext,
        owner_id: UUID,
        task_id: UUID,
        expected_version: int | None,
        change: Callable[[Task], None],
    ) -> Written[Task]:
        return self._change(
            context, lambda: self.get_task(owner_id, task_id), task_id, expected_version, change
        )
