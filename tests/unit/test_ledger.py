"""The application's command handlers on the in-memory persistence."""

import threading
from uuid import uuid4

import pytest
from argon2 import PasswordHasher

from application.accounts import AccountCommands
from application.context import CommandContext, metadata_of
from application.credential import CredentialVault
from application.error import ConcurrentChange, InvalidCredentials, StaleVersion, WeakPassword
from application.ledger import Ledger
from application.task import TaskCommands
from domain.task import Task, TaskNotFound
from domain.user import UsernameTaken

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def ledger():
    app = Ledger(credentials=CredentialVault("secret", hasher=FAST))
    yield app
    app.close()


@pytest.fixture
def ctx():
    return CommandContext(actor="user:test", request_id="req-1", correlation_id="corr-1")


def register(ledger, ctx, username="johndoe"):
    return (
        ledger[AccountCommands]
        .register_user(ctx, username, "securepass123", "John", "Doe")
        .aggregate
    )


def stored_events(ledger):
    return list(ledger.recorder.select_notifications(start=1, limit=1000))


def test_a_registered_user_can_authenticate(ledger, ctx):
    user = register(ledger, ctx)
    assert ledger[AccountCommands].authenticate("JohnDoe", "securepass123").id == user.id


def test_a_second_registration_of_the_same_username_is_refused(ledger, ctx):
    register(ledger, ctx, "johndoe")
    with pytest.raises(UsernameTaken):
        register(ledger, ctx, "JOHNDOE")
    assert [e.topic for e in stored_events(ledger)] == [
        "user.registered",
        "user.role_changed",
        "username.claimed",
        "admin_seat.claimed",
    ]


@pytest.mark.parametrize(
    ("username", "password"),
    [("johndoe", "wrong-password"), ("nobody", "securepass123"), ("not a name!", "securepass123")],
)
def test_a_wrong_password_and_an_unknown_user_get_the_same_error(ledger, ctx, username, password):
    register(ledger, ctx)
    with pytest.raises(InvalidCredentials) as refused:
        ledger[AccountCommands].authenticate(username, password)
    assert str(refused.value) == "Invalid credentials"


@pytest.mark.parametrize("password", ["short", "johndoe1", "x" * 1025, "password123", "Qwerty123"])
def test_a_weak_password_is_refused_before_anything_is_stored(ledger, ctx, password):
    with pytest.raises(WeakPassword):
        ledger[AccountCommands].register_user(
            ctx, "johndoe1" if password == "johndoe1" else "johndoe", password, "", ""
        )
    assert stored_events(ledger) == []


def test_the_password_hash_never_appears_in_an_event_in_clear(ledger, ctx):
    register(ledger, ctx)
    states = b"".join(e.state for e in stored_events(ledger))
    assert b"$argon2" not in states and b"securepass123" not in states
    assert b"credential" in states


def test_every_event_carries_actor_correlation_causation_and_request(ledger, ctx):
    user = register(ledger, ctx)
    ledger[TaskCommands].create_task(ctx, user.id, "Task")
    for notification in stored_events(ledger):
        meta = metadata_of(ledger.mapper.to_domain_event(notification))
        assert meta == {
            "actor": "user:test",
            "correlation_id": "corr-1",
            "causation_id": "req-1",
            "request_id": "req-1",
        }


def test_commands_return_increasing_positions_and_versions(ledger, ctx):
    owner = uuid4()
    created = ledger[TaskCommands].create_task(ctx, owner, "Task")
    updated = ledger[TaskCommands].update_task(
        ctx, owner, created.aggregate.id, {"status": "completed"}
    )
    assert updated.position > created.position > 0
    assert (created.version, updated.version) == (1, 2)


def test_another_users_task_is_not_found(ledger, ctx):
    task = ledger[TaskCommands].create_task(ctx, uuid4(), "Task").aggregate
    stranger = uuid4()
    with pytest.raises(TaskNotFound):
        ledger[TaskCommands].get_task(stranger, task.id)
    with pytest.raises(TaskNotFound):
        ledger[TaskCommands].update_task(ctx, stranger, task.id, {"name": "mine now"})
    with pytest.raises(TaskNotFound):
        ledger[TaskCommands].delete_task(ctx, stranger, task.id)


def test_an_id_of_another_kind_of_aggregate_is_not_a_task(ledger, ctx):
    user = register(ledger, ctx)
    with pytest.raises(TaskNotFound):
        ledger[TaskCommands].get_task(user.id, user.id)


def test_a_deleted_task_is_not_found(ledger, ctx):
    owner = uuid4()
    task = ledger[TaskCommands].create_task(ctx, owner, "Task").aggregate
    ledger[TaskCommands].delete_task(ctx, owner, task.id)
    with pytest.raises(TaskNotFound):
        ledger[TaskCommands].get_task(owner, task.id)


def test_a_stale_expected_version_is_refused(ledger, ctx):
    owner = uuid4()
    task = ledger[TaskCommands].create_task(ctx, owner, "Task").aggregate
    ledger[TaskCommands].update_task(ctx, owner, task.id, {"name": "v2"}, expected_version=1)
    with pytest.raises(StaleVersion):
        ledger[TaskCommands].update_task(ctx, owner, task.id, {"name": "v3"}, expected_version=1)
    with pytest.raises(StaleVersion):
        ledger[TaskCommands].delete_task(ctx, owner, task.id, expected_version=1)
    assert ledger[TaskCommands].get_task(owner, task.id).name == "v2"


def test_an_earlier_version_of_a_task_can_be_read(ledger, ctx):
    owner = uuid4()
    task = ledger[TaskCommands].create_task(ctx, owner, "first").aggregate
    ledger[TaskCommands].update_task(ctx, owner, task.id, {"name": "second"})
    assert ledger[TaskCommands].get_task(owner, task.id, version=1).name == "first"


def test_concurrent_updates_without_if_match_are_all_applied(ledger, ctx):
    owner = uuid4()
    task = ledger[TaskCommands].create_task(ctx, owner, "Task").aggregate
    barrier = threading.Barrier(8)
    errors = []

    def rename(i):
        barrier.wait()
        try:
            ledger[TaskCommands].update_task(ctx, owner, task.id, {"description": f"writer {i}"})
        except Exception as error:  # collected: an exception in a thread would be lost
            errors.append(error)

    threads = [threading.Thread(target=rename, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert ledger[TaskCommands].get_task(owner, task.id).version == 1 + 8


def test_a_conflicting_write_with_if_match_is_reported_not_retried(ledger, ctx, monkeypatch):
    owner = uuid4()
    task = ledger[TaskCommands].create_task(ctx, owner, "Task").aggregate
    original = ledger._committer.submit
    calls = []

    def sneaky(events):
        if not calls:
            calls.append(1)
            other_process_copy = ledger.repository.get(task.id)
            other_process_copy.update({"name": "sneaked in"})
            ledger.save(other_process_copy)
        return original(events)

    monkeypatch.setattr(ledger._committer, "submit", sneaky)
    with pytest.raises(ConcurrentChange):
        ledger[TaskCommands].update_task(ctx, owner, task.id, {"name": "mine"}, expected_version=1)
    assert ledger[TaskCommands].get_task(owner, task.id).name == "sneaked in"


def test_load_many_gives_the_aggregates_of_that_kind_that_exist(ledger, ctx):
    owner = uuid4()
    tasks = [ledger[TaskCommands].create_task(ctx, owner, f"t{i}").aggregate for i in range(3)]
    user = register(ledger, ctx)
    wanted = [tasks[0].id, tasks[2].id, uuid4(), user.id, tasks[0].id]
    found = ledger.load_many(Task, wanted)
    assert set(found) == {tasks[0].id, tasks[2].id}  # unknown ids and users left out
    assert found[tasks[2].id].name == "t2"
    assert ledger.load_many(Task, []) == {}
