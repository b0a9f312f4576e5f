"""Old events keep loading: task.deleted v1 (no reason), user.registered v1 (no email),
webhook.created v2 (no format) and api_key.created v1 (no rate limit) are upcast."""

import json
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from argon2 import PasswordHasher
from eventsourcing.persistence import StoredEvent

from application.context import CommandContext
from application.credential import CredentialVault
from application.ledger import Ledger
from application.task import TaskCommands
from domain.api_key import ApiKey
from domain.task import Task, TaskNotFound
from domain.user import User
from domain.webhook import Webhook

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
CTX = CommandContext(actor="user:test")


@pytest.fixture
def ledger():
    app = Ledger(credentials=CredentialVault("secret", hasher=FAST))
    yield app
    app.close()


def stored_v1_deletion(ledger, task):
    """The record a v1 ``task.deleted`` left in the store: no class_version, no reason."""
    state = {
        "originator_id": task.id,
        "originator_version": task.version + 1,
        "timestamp": task.modified_on,
        "meta": CTX.as_metadata(),
    }
    return StoredEvent(
        originator_id=task.id,
        originator_version=task.version + 1,
        topic="task.deleted",
        state=ledger.mapper.transcoder.encode(state),
    )


def test_a_task_deleted_event_stored_in_the_v1_shape_loads_with_an_empty_reason(ledger):
    owner = uuid4()
    task = ledger[TaskCommands].create_task(CTX, owner, "old").aggregate
    old = stored_v1_deletion(ledger, task)
    assert b"reason" not in old.state and b"class_version" not in old.state
    ledger.recorder.insert_events([old])
    deleted = list(ledger.events.get(task.id))[-1]
    assert isinstance(deleted, Task.Deleted) and deleted.reason == ""
    assert ledger.repository.get(task.id).deleted is True
    with pytest.raises(TaskNotFound):
        ledger[TaskCommands].get_task(owner, task.id)


def test_a_new_deletion_is_stored_as_v2_with_its_reason(ledger):
    task = Task.create(uuid4(), "new")
    task.delete(reason="  duplicate ")
    ledger.save(task)
    stored = list(ledger.recorder.select_events(task.id))[-1]
    state = json.loads(stored.state)
    assert state["class_version"] == 2 and state["reason"] == "duplicate"
    assert list(ledger.events.get(task.id))[-1].reason == "duplicate"


def stored_v1(ledger, kind, aggregate_id, topic, state):
    """A record in an old shape: no class_version."""
    return StoredEvent(
        originator_id=aggregate_id,
        originator_version=1,
        topic=topic,
        state=ledger.mapper.transcoder.encode(
            {
                "originator_id": aggregate_id,
                "originator_version": 1,
                "timestamp": datetime.now(UTC),
                "meta": CTX.as_metadata(),
                "originator_topic": kind.TOPIC,
                **state,
            }
        ),
    )


def test_a_user_registered_before_emails_loads_without_one(ledger):
    user_id = uuid4()
    old = {"username": "old_user", "name": "O", "lastname": "U", "credential": "sealed"}
    ledger.recorder.insert_events([stored_v1(ledger, User, user_id, "user.registered", old)])
    user = ledger.repository.get(user_id)
    assert (user.username, user.email) == ("old_user", None)


def test_a_webhook_created_before_formats_sends_the_envelope(ledger):
    hook_id = uuid4()
    old = {
        "owner_id": uuid4(),
        "url": "https://example.com/hook",
        "events": ["task.*"],
        "description": "",
        "secret": "sealed",
        "enabled": True,
        "class_version": 2,
    }
    ledger.recorder.insert_events([stored_v1(ledger, Webhook, hook_id, "webhook.created", old)])
    assert ledger.repository.get(hook_id).format == "envelope"


def test_an_api_key_created_before_key_limits_has_no_limit_of_its_own(ledger):
    key_id = uuid4()
    old = {
        "user_id": uuid4(),
        "name": "old key",
        "scopes": ["tasks:read"],
        "key_hash": "0" * 64,
        "prefix": "lf_0123456789",
        "expires_at": None,
    }
    ledger.recorder.insert_events([stored_v1(ledger, ApiKey, key_id, "api_key.created", old)])
    key = ledger.repository.get(key_id)
    assert (key.name, key.rate_limit) == ("old key", None)
    created = next(iter(ledger.events.get(key_id)))
    assert created.rate_limit is None
