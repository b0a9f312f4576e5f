"""Webhook commands of the Ledger on the in-memory persistence."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from argon2 import PasswordHasher
from eventsourcing.persistence import StoredEvent
from standardwebhooks import Webhook as Verifier

from application.context import CommandContext, metadata_of
from application.credential import CredentialVault
from application.error import StaleVersion
from application.ledger import Ledger
from application.webhook_signing import signed_headers
from application.webhooks import WebhookCommands, open_secret
from domain.error import InvalidValue
from domain.webhook import Webhook, WebhookNotFound
from interfaces.adapters.webhook_guard import UnsafeWebhookURL, check_url

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
URL = "http://127.0.0.1:9/hook"


@pytest.fixture
def ledger():
    app = Ledger(credentials=CredentialVault("secret", hasher=FAST))
    app.register(WebhookCommands(app, lambda url: check_url(url, ["127.0.0.1"])))
    yield app
    app.close()


@pytest.fixture
def owner():
    return uuid4()


@pytest.fixture
def ctx(owner):
    return CommandContext.for_user(owner, "req-1")


def stored_topics(ledger):
    return [n.topic for n in ledger.recorder.select_notifications(start=1, limit=100)]


def create(ledger, ctx, owner, **extra):
    return ledger[WebhookCommands].create_webhook(ctx, owner, URL, ["task.*"], **extra)


def test_a_new_webhook_gets_a_whsec_secret_that_is_stored_only_sealed(ledger, ctx, owner):
    written, secret = create(ledger, ctx, owner, description="ci")
    hook = written.aggregate
    assert secret.startswith("whsec_") and written.position == 1
    stored = b"".join(n.state for n in ledger.recorder.select_notifications(start=1, limit=10))
    assert secret.encode() not in stored and secret.removeprefix("whsec_").encode() not in stored
    assert open_secret(hook.secret, ledger.credentials) == secret


def test_a_signature_made_with_the_opened_secret_verifies_with_standardwebhooks(ledger, ctx, owner):
    written, secret = create(ledger, ctx, owner)
    opened = open_secret(written.aggregate.secret, ledger.credentials)
    now = datetime.now(UTC)
    headers = signed_headers([opened], "msg_1", int(now.timestamp()), b'{"a":1}')
    assert Verifier(secret).verify(b'{"a":1}', headers) == {"a": 1}


def test_an_unsafe_url_is_refused_and_nothing_is_saved(ledger, ctx, owner):
    with pytest.raises(UnsafeWebhookURL, match="private"):
        ledger[WebhookCommands].create_webhook(ctx, owner, "http://10.0.0.1/hook", ["task.*"])
    assert stored_topics(ledger) == []


def test_changing_the_url_to_an_unsafe_one_is_refused_and_nothing_is_saved(ledger, ctx, owner):
    hook = create(ledger, ctx, owner)[0].aggregate
    with pytest.raises(UnsafeWebhookURL):
        ledger[WebhookCommands].update_webhook(
            ctx, owner, hook.id, url="http://[::1]/x", description="new"
        )
    assert stored_topics(ledger) == ["webhook.created"]


def test_an_owner_chosen_secret_must_be_a_valid_whsec(ledger, ctx, owner):
    with pytest.raises(InvalidValue, match="secret"):
        create(ledger, ctx, owner, secret="whsec_short")
    chosen = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    assert create(ledger, ctx, owner, secret=chosen)[1] == chosen


def test_the_owner_updates_url_events_and_description_in_one_event(ledger, ctx, owner):
    hook = create(ledger, ctx, owner)[0].aggregate
    written = ledger[WebhookCommands].update_webhook(
        ctx, owner, hook.id, url="http://127.0.0.1:10/h", events=["task.created"], description="d"
    )
    assert written.version == 2 and written.aggregate.url == "http://127.0.0.1:10/h"
    assert stored_topics(ledger) == ["webhook.created", "webhook.updated"]


def test_enabling_a_webhook_the_dispatcher_disabled_records_webhook_enabled(ledger, ctx, owner):
    hook = create(ledger, ctx, owner)[0].aggregate
    disabled = ledger[WebhookCommands].disable_webhook(hook.id, "endpoint answered 410 Gone")
    assert disabled is not None and not disabled.aggregate.enabled
    first, last = list(ledger.events.get(hook.id))
    assert metadata_of(first)["actor"] == f"user:{owner}"
    assert metadata_of(last)["actor"] == "system:webhook-dispatcher"
    assert last.reason == "endpoint answered 410 Gone"
    assert ledger[WebhookCommands].disable_webhook(hook.id, "again") is None
    written = ledger[WebhookCommands].update_webhook(ctx, owner, hook.id, enabled=True)
    assert written.aggregate.enabled and written.aggregate.disabled_reason is None
    assert stored_topics(ledger)[-2:] == ["webhook.disabled", "webhook.enabled"]


def test_the_owner_disables_with_a_reason_saying_so(ledger, ctx, owner):
    hook = create(ledger, ctx, owner)[0].aggregate
    written = ledger[WebhookCommands].update_webhook(ctx, owner, hook.id, enabled=False)
    assert written.aggregate.disabled_reason == "disabled by its owner"
    again = ledger[WebhookCommands].update_webhook(ctx, owner, hook.id, enabled=False)
    assert again.version == written.version


def test_rotation_returns_a_new_secret_and_keeps_the_old_one_for_24_hours(ledger, ctx, owner):
    written, first = create(ledger, ctx, owner)
    rotated, second = ledger[WebhookCommands].rotate_webhook_secret(
        ctx, owner, written.aggregate.id
    )
    hook = rotated.aggregate
    assert second != first and second.startswith("whsec_")
    now = datetime.now(UTC)
    opened = [open_secret(s, ledger.credentials) for s in hook.signing_secrets(now)]
    assert opened == [second, first]
    assert hook.previous_valid_until - now <= timedelta(hours=24)
    assert hook.previous_valid_until - now > timedelta(hours=23, minutes=59)


def test_another_users_webhook_is_not_found_for_every_command(ledger, ctx, owner):
    hook = create(ledger, ctx, owner)[0].aggregate
    stranger = uuid4()
    other = CommandContext.for_user(stranger)
    with pytest.raises(WebhookNotFound):
        ledger[WebhookCommands].update_webhook(other, stranger, hook.id, description="x")
    with pytest.raises(WebhookNotFound):
        ledger[WebhookCommands].rotate_webhook_secret(other, stranger, hook.id)
    with pytest.raises(WebhookNotFound):
        ledger[WebhookCommands].delete_webhook(other, stranger, hook.id)
    assert stored_topics(ledger) == ["webhook.created"]


def test_a_stale_expected_version_is_refused(ledger, ctx, owner):
    hook = create(ledger, ctx, owner)[0].aggregate
    with pytest.raises(StaleVersion):
        ledger[WebhookCommands].update_webhook(
            ctx, owner, hook.id, description="x", expected_version=3
        )


def test_a_deleted_webhook_is_gone_for_every_command(ledger, ctx, owner):
    hook = create(ledger, ctx, owner)[0].aggregate
    ledger[WebhookCommands].delete_webhook(ctx, owner, hook.id, expected_version=1)
    with pytest.raises(WebhookNotFound):
        ledger[WebhookCommands].get_webhook(owner, hook.id)
    with pytest.raises(WebhookNotFound):
        ledger[WebhookCommands].disable_webhook(hook.id, "410")
    assert stored_topics(ledger) == ["webhook.created", "webhook.deleted"]


def stored_v1(ledger, owner, hook_id, when):
    """A webhook.created and a webhook.secret_rotated in their v1 shape (no enabled, no end)."""
    encode = ledger.mapper.transcoder.encode
    created = {
        "originator_id": hook_id,
        "originator_version": 1,
        "timestamp": when,
        "originator_topic": "webhook",
        "owner_id": owner,
        "url": URL,
        "events": ["task.*"],
        "description": "",
        "secret": "sealed-1",
    }
    rotated = {
        "originator_id": hook_id,
        "originator_version": 2,
        "timestamp": when,
        "secret": "sealed-2",
    }
    return [
        StoredEvent(hook_id, 1, "webhook.created", encode(created)),
        StoredEvent(hook_id, 2, "webhook.secret_rotated", encode(rotated)),
    ]


def test_v1_webhook_events_load_enabled_and_with_a_24_hour_grace(ledger, owner):
    hook_id, when = uuid4(), datetime(2026, 11, 1, tzinfo=UTC)
    ledger.recorder.insert_events(stored_v1(ledger, owner, hook_id, when))
    hook = ledger[WebhookCommands].get_webhook(owner, hook_id)
    assert isinstance(hook, Webhook) and hook.enabled
    assert hook.previous_valid_until == when + timedelta(hours=24)
    assert hook.signing_secrets(when) == ["sealed-2", "sealed-1"]
