"""The Webhook aggregate: its events and invariants."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.error import InvalidValue
from domain.webhook import ROTATION_GRACE, Webhook, WebhookAlreadyDisabled, WebhookDeleted
from projections.envelope import envelope


def make() -> Webhook:
    return Webhook.create(uuid4(), "https://example.test/hook", ["task.*"], "sealed-1")


def test_creating_a_webhook_records_webhook_created_without_the_secret_in_its_envelope():
    hook = make()
    [created] = hook.collect_events()
    out = envelope(created, 1)
    assert out["type"] == "webhook.created" and out["data"]["events"] == ["task.*"]
    assert "secret" not in out["data"] and "sealed-1" not in str(out)


@pytest.mark.parametrize("url", ["ftp://example.test/x", "not a url", "https:///path"])
def test_a_webhook_needs_an_absolute_http_url(url):
    with pytest.raises(InvalidValue):
        Webhook.create(uuid4(), url, ["task.*"], "sealed")


def test_a_webhook_needs_at_least_one_event_pattern():
    with pytest.raises(InvalidValue):
        Webhook.create(uuid4(), "https://example.test/hook", [], "sealed")


NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_rotation_keeps_the_previous_secret_signing_beside_the_new_one_for_24_hours():
    hook = make()
    hook.rotate_secret("sealed-2", NOW)
    assert hook.signing_secrets(NOW) == ["sealed-2", "sealed-1"]
    assert hook.signing_secrets(NOW + ROTATION_GRACE - timedelta(seconds=1)) == [
        "sealed-2",
        "sealed-1",
    ]
    assert hook.signing_secrets(NOW + ROTATION_GRACE) == ["sealed-2"]
    rotated = hook.collect_events()[-1]
    out = envelope(rotated, 2)
    assert out["type"] == "webhook.secret_rotated"
    assert out["data"] == {"previous_valid_until": "2026-12-01T12:00:00Z"}


def test_a_second_rotation_retires_the_first_secret_at_once():
    hook = make()
    hook.rotate_secret("sealed-2", NOW)
    hook.rotate_secret("sealed-3", NOW + timedelta(hours=1))
    assert hook.signing_secrets(NOW + timedelta(hours=2)) == ["sealed-3", "sealed-2"]


def test_a_webhook_created_disabled_is_enabled_with_webhook_enabled():
    hook = Webhook.create(uuid4(), "https://example.test/hook", ["*"], "sealed", enabled=False)
    assert not hook.enabled
    hook.enable()
    hook.enable()
    events = hook.collect_events()
    assert [type(e).TOPIC for e in events] == ["webhook.created", "webhook.enabled"]
    assert envelope(events[0], 1)["data"]["enabled"] is False
    assert hook.enabled and hook.disabled_reason is None


def test_an_unchanged_update_records_nothing_and_a_change_records_only_the_change():
    hook = make()
    hook.update(url="https://example.test/hook", events=["task.*"])
    assert len(hook.collect_events()) == 1
    hook.update(events=["task.created"], description=" nightly sync ")
    [updated] = hook.collect_events()
    assert updated.changes == {"events": ["task.created"], "description": "nightly sync"}


def test_a_disabled_webhook_cannot_be_disabled_again_and_a_deleted_one_cannot_change():
    hook = make()
    hook.disable("endpoint answered 410 Gone")
    assert not hook.enabled and hook.disabled_reason == "endpoint answered 410 Gone"
    with pytest.raises(WebhookAlreadyDisabled):
        hook.disable("again")
    hook.enable()
    assert hook.enabled and hook.disabled_reason is None
    hook.delete()
    with pytest.raises(WebhookDeleted):
        hook.rotate_secret("sealed-3", NOW)
