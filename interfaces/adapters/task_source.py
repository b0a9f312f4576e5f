"""The chat's view of a user's tasks, read from the tasks read model."""

from __future__ import annotations

from uuid import UUID

from application.chat import TaskView
from projections.task import TaskQueries

PAGE = 200
MOST = 10_000  # a reference is resolved among at most this many of the user's tasks


class ReadModelTasks:
    """``TaskSource`` over ``TaskQueries``."""

    def __init__(self, queries: TaskQueries) -> None:
        self._queries = queries

    def tasks_of(
        self, owner_id: UUID, status: str | None = None, priority: str | None = None
    ) -> list[TaskView]:
        """The owner's tasks, newest first, page by page."""
        found: list[TaskView] = []
        while len(found) < MOST:
            page = self._queries.list(owner_id, status, priority, PAGE, len(found))
            found.extend(
                TaskView(r["task_id"], r["name"], r["description"], r["status"], r["priority"])
                for r in page.tasks
            )
            if len(page.tasks) < PAGE:
                break
        return found
