"""The Task aggregate: every transition and every refusal."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from domain.error import InvalidValue
from domain.task import Task, TaskDeleted
from domain.task_value import NAME_MAX, TAGS_MAX


def new_task(**kwargs):
    values = {"owner_id": uuid4(), "name": "Review documentation"} | kwargs
    return Task.create(**values)


def types_of(task):
    return [type(e).TOPIC for e in task.collect_events()]


def test_a_new_task_has_not_started_and_records_task_created():
    owner = uuid4()
    task = Task.create(owner, "  Write  ", "desc", "high", None, ["a", "b", "a"])
    assert (task.name, task.status, task.priority, task.owner_id) == (
        "Write",
        "not_started",
        "high",
        owner,
    )
    assert task.tags == ["a", "b"]
    assert types_of(task) == ["task.created"]


def test_the_default_priority_is_medium_and_description_empty():
    task = new_task()
    assert task.priority == "medium" and task.description == "" and task.due_date is None


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("name", {"name": ""}),
        ("name", {"name": "   "}),
        ("name", {"name": "x" * (NAME_MAX + 1)}),
        ("priority", {"priority": "critical"}),
        ("tags", {"tags": [f"t{i}" for i in range(TAGS_MAX + 1)]}),
        ("tags", {"tags": [""]}),
        ("due_date", {"due_date": datetime(2025, 12, 31, 23, 59)}),
    ],
)
def test_a_task_with_an_invalid_value_is_refused(field, kwargs):
    with pytest.raises(InvalidValue) as refused:
        new_task(**kwargs)
    assert refused.value.field == field


def test_an_update_records_only_the_fields_that_change():
    task = new_task(priority="low")
    task.collect_events()
    task.update({"name": "Review documentation", "priority": "urgent"})
    events = task.collect_events()
    assert [type(e).TOPIC for e in events] == ["task.updated"]
    assert events[0].changes == {"priority": "urgent"}
    assert task.priority == "urgent"


def test_a_status_change_is_its_own_event_with_from_and_to():
    task = new_task()
    task.collect_events()
    task.update({"status": "in_progress", "name": "Renamed"})
    events = task.collect_events()
    assert [type(e).TOPIC for e in events] == ["task.updated", "task.status_changed"]
    assert (events[1].from_status, events[1].to_status) == ("not_started", "in_progress")
    assert task.status == "in_progress" and task.version == 3


@pytest.mark.parametrize("status", ["not_started", "in_progress", "completed", "blocked"])
def test_every_status_can_be_reached_from_another(status):
    task = new_task()
    task.update({"status": "blocked" if status != "blocked" else "completed"})
    task.update({"status": status})
    assert task.status == status


def test_an_update_that_changes_nothing_records_nothing():
    task = new_task(tags=["x"])
    task.collect_events()
    task.update({"name": "Review documentation", "tags": ["x"], "status": "not_started"})
    assert task.collect_events() == []


def test_an_unknown_status_is_refused_and_nothing_is_recorded():
    task = new_task()
    task.collect_events()
    with pytest.raises(InvalidValue):
        task.update({"status": "done", "name": "other"})
    assert task.collect_events() == [] and task.name == "Review documentation"


def test_an_unknown_field_is_refused():
    with pytest.raises(InvalidValue) as refused:
        new_task().update({"owner_id": uuid4()})
    assert refused.value.field == "owner_id"


def test_the_due_date_can_be_set_and_cleared():
    task = new_task()
    due = datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC)
    task.update({"due_date": due})
    assert task.due_date == due
    task.update({"due_date": None})
    assert task.due_date is None


def test_a_deleted_task_accepts_no_change():
    task = new_task()
    task.delete()
    assert task.deleted and types_of(task)[-1] == "task.deleted"
    with pytest.raises(TaskDeleted):
        task.update({"name": "again"})
    with pytest.raises(TaskDeleted):
        task.delete()


def test_a_task_is_visible_only_to_its_owner_and_not_once_deleted():
    owner = uuid4()
    task = Task.create(owner, "mine")
    assert task.visible_to(owner) and not task.visible_to(uuid4())
    task.delete()
    assert not task.visible_to(owner)
