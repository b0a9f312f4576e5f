"""A task's history and time travel on the in-memory persistence."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from argon2 import PasswordHasher

from application.context import CommandContext
from application.credential import CredentialVault
from application.history import task_at, task_events
from application.ledger import Ledger
from application.task import TaskCommands
from domain.error import InvalidValue
from domain.task import TaskNotFound

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
CTX = CommandContext(actor="user:test", correlation_id="corr-1", request_id="req-1")


@pytest.fixture
def ledger():
    app = Ledger(credentials=CredentialVault("secret", hasher=FAST))
    yield app
    app.close()


def state(task):
    return {
        "name": task.name,
        "description": task.description,
        "status": task.status,
        "priority": task.priority,
        "tags": list(task.tags),
        "version": task.version,
    }


def scenario(ledger, owner):
    """Create and change a task, recording the live state and the time after each command."""
    written = ledger[TaskCommands].create_task(CTX, owner, "draft", priority="low", tags=["a"])
    task_id = written.aggregate.id
    recorded = [(datetime.now(UTC), state(written.aggregate))]
    for changes in (
        {"name": "final", "tags": ["a", "b"]},
        {"status": "in_progress"},
        {"priority": "urgent", "description": "now with text"},
        {"status": "completed"},
    ):
        written = ledger[TaskCommands].update_task(CTX, owner, task_id, changes)
        recorded.append((datetime.now(UTC), state(written.aggregate)))
    return task_id, recorded


def test_time_travel_returns_the_same_state_as_the_live_aggregate_had_at_that_moment(ledger):
    owner = uuid4()
    task_id, recorded = scenario(ledger, owner)
    for moment, live in recorded:
        assert state(task_at(ledger, owner, task_id, as_of=moment)) == live
        assert state(task_at(ledger, owner, task_id, version=live["version"])) == live


def test_a_task_before_its_creation_or_past_its_last_version_is_not_found(ledger):
    owner = uuid4()
    task_id, recorded = scenario(ledger, owner)
    with pytest.raises(TaskNotFound):
        task_at(ledger, owner, task_id, as_of=recorded[0][0] - timedelta(days=1))
    with pytest.raises(TaskNotFound):
        task_at(ledger, owner, task_id, version=len(recorded) + 1)


def test_as_of_and_version_together_or_a_naive_time_are_refused(ledger):
    owner = uuid4()
    task_id, recorded = scenario(ledger, owner)
    with pytest.raises(InvalidValue):
        task_at(ledger, owner, task_id, version=1, as_of=recorded[0][0])
    with pytest.raises(InvalidValue):
        task_at(ledger, owner, task_id, as_of=datetime.now())


def test_the_history_lists_every_event_in_order_with_its_metadata(ledger):
    owner = uuid4()
    task_id, _ = scenario(ledger, owner)
    events = task_events(ledger, owner, task_id)
    assert [e.originator_version for e in events] == [1, 2, 3, 4, 5]
    assert [type(e).TOPIC for e in events] == [
        "task.created",
        "task.updated",
        "task.status_changed",
        "task.updated",
        "task.status_changed",
    ]
    assert {e.meta["correlation_id"] for e in events} == {"corr-1"}


def test_a_deleted_tasks_history_stays_readable_by_its_owner_only(ledger):
    owner = uuid4()
    task_id, recorded = scenario(ledger, owner)
    ledger[TaskCommands].delete_task(CTX, owner, task_id)
    assert type(task_events(ledger, owner, task_id)[-1]).TOPIC == "task.deleted"
    with pytest.raises(TaskNotFound):
        task_events(ledger, uuid4(), task_id)
    assert state(task_at(ledger, owner, task_id, as_of=recorded[-1][0])) == recorded[-1][1]
    with pytest.raises(TaskNotFound):
        task_at(ledger, owner, task_id, version=6)
