"""The Webhook aggregate: its events and invariants."""

from uuid import uuid4

import pytest

from domain.error import InvalidValue
from domain.webhook import Webhook, WebhookAlreadyDisabled, WebhookDeleted
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


def test_rotation_keeps_the_previous_secret_signing_beside_the_new_one():
    hook = make()
    hook.rotate_secret("sealed-2")
    assert hook.signing_secrets() == ["sealed-2", "sealed-1"]
    assert [type(e).TOPIC for e in hook.collect_events()][-1] == "webhook.secret_rotated"


def test_an_unchanged_update_records_nothing_and_a_change_records_only_the_change():
    hook = make()
    hook.update(url="https://example.test/hook", events=["task.*"])
    assert len(hook.collect_events()) == 1
    hook.update(events=["task.created"])
    [updated] = hook.collect_events()
    assert updated.changes == {"events": ["task.created"]}


def test_a_disabled_webhook_cannot_be_disabled_again_and_a_deleted_one_cannot_change():
    hook = make()
    hook.disable("endpoint answered 410 Gone")
    assert not hook.enabled and hook.disabled_reason == "endpoint answered 410 Gone"
    with pytest.raises(WebhookAlreadyDisabled):
        hook.disable("again")
    hook.delete()
    with pytest.raises(WebhookDeleted):
        hook.rotate_secret("sealed-3")
