"""The chat's view of a user's tasks, read from the tasks read model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from application.chat import TaskView
from projections.task import TaskQueries


def _view(row: dict[str, Any]) -> TaskView:
    return TaskView(row["task_id"], row["name"], row["description"], row["status"], row["priority"])


class ReadModelTasks:
    """``TaskSource`` over ``TaskQueries``: each call is one indexed query."""

    def __init__(self, queries: TaskQueries) -> None:
        self._queries = queries

    def listing(
        self, owner_id: UUID, status: str | None, priority: str | None, limit: int
    ) -> tuple[list[TaskView], int]:
        """The owner's newest tasks, filtered, and how many match."""
        page = self._queries.list(owner_id, status, priority, limit, 0)
        return [_view(row) for row in page.tasks], page.total

    def containing(self, owner_id: UUID, text: str, limit: int) -> list[TaskView]:
        """Tasks whose name contains ``text``, exact names first."""
        return [_view(row) for row in self._queries.containing(owner_id, text, limit)]

    def by_ids(self, owner_id: UUID, task_ids: Sequence[UUID]) -> list[TaskView]:
        """The owner's live tasks among ``task_ids``."""
        return [_view(row) for row in self._queries.by_ids(owner_id, task_ids)] if task_ids else []
