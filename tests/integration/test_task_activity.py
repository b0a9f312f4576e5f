"""The task activity read model counts a large log in batches exactly like the tasks it saw."""

from datetime import UTC, datetime
from uuid import uuid4

from domain.task import Task
from projections.task_activity import TaskActivityQueries
from tests.integration.helpers import tracked, wait_for


def test_daily_counts_match_the_tasks_created_completed_and_reopened(container):
    owner, other = uuid4(), uuid4()
    tasks = [Task.create(owner if i % 4 else other, f"t{i}") for i in range(1200)]
    for i, task in enumerate(tasks):
        if i % 3 == 0:
            task.update({"status": "completed"})
        if i % 30 == 0:
            task.update({"status": "in_progress"})
            task.update({"status": "completed"})  # counted again: the numbers count transitions
    for start in range(0, len(tasks), 500):
        container.ledger.save(*tasks[start : start + 500])
    head = container.ledger.recorder.max_notification_id()
    wait_for(lambda: tracked(container.database_url, "task_activity") == head)

    today = datetime.now(UTC).date()
    activity = container.query(TaskActivityQueries)
    everyone = activity.totals(None, today, today)
    assert (everyone["created"], everyone["completed"], everyone["failed"]) == (1200, 440, 0)
    mine = activity.totals(owner, today, today)
    owned = [i for i in range(1200) if i % 4]
    expected = sum(1 for i in owned if i % 3 == 0) + sum(1 for i in owned if i % 30 == 0)
    assert (mine["created"], mine["completed"]) == (900, expected)
    assert mine["avg_completion_seconds"] >= 0
