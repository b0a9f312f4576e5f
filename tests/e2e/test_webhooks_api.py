"""Webhook endpoints over HTTP: secret shown once, owner only, SSRF refused, rotation, ETags."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx
import pytest

PASSWORD = "correct-horse-9"
HOOK = "http://127.0.0.1:9/hook"


def account(base_url: str, prefix: str) -> dict[str, str]:
    body = {"username": f"{prefix}_{uuid.uuid4().hex[:10]}", "password": PASSWORD}
    httpx.post(f"{base_url}/register", json=body)
    token = httpx.post(f"{base_url}/login", json=body).json()["token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def owner(base_url) -> dict[str, str]:
    return account(base_url, "hooks")


def create(base_url, headers, **body) -> httpx.Response:
    return httpx.post(
        f"{base_url}/api/v1/webhooks",
        headers=headers,
        json={"url": HOOK, "events": ["task.*"]} | body,
    )


def test_the_secret_is_shown_once_and_never_again(base_url, owner, server):
    created = create(base_url, owner, description="ci")
    assert created.status_code == 201, created.text
    hook = created.json()
    assert hook["secret"].startswith("whsec_") and hook["enabled"] is True
    assert created.headers["ETag"] == '"1"' and hook["position"] > 0
    one = httpx.get(f"{base_url}/api/v1/webhooks/{hook['webhook_id']}", headers=owner)
    listed = httpx.get(f"{base_url}/api/v1/webhooks", headers=owner)
    feed = httpx.get(f"{base_url}/api/v1/events?types=webhook.*", headers=owner)
    assert one.status_code == 200 and one.headers["ETag"] == '"1"'
    assert one.json()["description"] == "ci" and "secret" not in one.json()
    assert listed.json()["total"] == 1 and listed.json()["webhooks"][0]["url"] == HOOK
    assert [e["type"] for e in feed.json()["events"]] == ["webhook.created"]
    key_part = hook["secret"].removeprefix("whsec_")
    for answer in (one, listed, feed):
        assert key_part not in answer.text
    assert key_part not in server.log.read_text()


def test_astraflows_single_event_form_is_accepted(base_url, owner):
    body = {"url": HOOK, "event": "task.created"}
    created = httpx.post(f"{base_url}/api/v1/webhooks", headers=owner, json=body)
    assert created.status_code == 201 and created.json()["events"] == ["task.created"]
    nothing = httpx.post(f"{base_url}/api/v1/webhooks", headers=owner, json={"url": HOOK})
    assert nothing.status_code == 422


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.1/hook", "http://[::1]:9/hook", "http://169.254.169.254/", "http://[fd00::1]/"],
)
def test_a_non_public_url_is_refused_with_422_and_nothing_is_saved(base_url, owner, url):
    refused = create(base_url, owner, url=url)
    assert refused.status_code == 422 and refused.json()["code"] == "UNSAFE_WEBHOOK_URL"
    assert "public" in refused.json()["detail"]
    assert httpx.get(f"{base_url}/api/v1/webhooks", headers=owner).json()["total"] == 0


def test_changing_the_url_to_a_private_one_is_refused(base_url, owner):
    hook = create(base_url, owner).json()
    url = f"{base_url}/api/v1/webhooks/{hook['webhook_id']}"
    refused = httpx.put(url, headers=owner, json={"url": "http://192.168.0.10/x"})
    assert refused.status_code == 422 and refused.json()["code"] == "UNSAFE_WEBHOOK_URL"
    assert httpx.get(url, headers=owner).json()["url"] == HOOK


def test_update_disable_enable_with_etags_and_if_match(base_url, owner):
    hook = create(base_url, owner).json()
    url = f"{base_url}/api/v1/webhooks/{hook['webhook_id']}"
    changed = httpx.put(
        url, headers={**owner, "If-Match": '"1"'}, json={"events": ["task.completed"]}
    )
    assert changed.status_code == 200 and changed.headers["ETag"] == '"2"'
    stale = httpx.put(url, headers={**owner, "If-Match": '"1"'}, json={"enabled": False})
    assert stale.status_code == 412
    off = httpx.put(url, headers=owner, json={"enabled": False}).json()
    assert off["enabled"] is False and off["disabled_reason"] == "disabled by its owner"
    on = httpx.put(url, headers=owner, json={"enabled": True}).json()
    assert on["enabled"] is True and on["disabled_reason"] is None and on["version"] == 4
    read = httpx.get(url, headers=owner).json()
    assert read["events"] == ["task.completed"] and read["enabled"] is True
    feed = httpx.get(f"{base_url}/api/v1/events?types=webhook.*", headers=owner).json()
    assert [e["type"] for e in feed["events"]] == [
        "webhook.created",
        "webhook.updated",
        "webhook.disabled",
        "webhook.enabled",
    ]


def test_rotation_returns_a_new_secret_once_and_the_old_one_stays_24_hours(base_url, owner):
    hook = create(base_url, owner).json()
    url = f"{base_url}/api/v1/webhooks/{hook['webhook_id']}/rotate-secret"
    rotated = httpx.post(url, headers=owner)
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    assert body["secret"].startswith("whsec_") and body["secret"] != hook["secret"]
    until = datetime.fromisoformat(body["previous_secret_expires_at"])
    updated = datetime.fromisoformat(body["updated_at"])
    assert timedelta(hours=23, minutes=59) < until - updated <= timedelta(hours=24)
    feed = httpx.get(f"{base_url}/api/v1/events?types=webhook.secret_rotated", headers=owner)
    [event] = feed.json()["events"]
    assert body["secret"].removeprefix("whsec_") not in feed.text
    assert set(event["data"]) == {"previous_valid_until"}


def test_delete_answers_204_then_404(base_url, owner):
    hook = create(base_url, owner).json()
    url = f"{base_url}/api/v1/webhooks/{hook['webhook_id']}"
    assert httpx.delete(url, headers={**owner, "If-Match": '"2"'}).status_code == 412
    assert httpx.delete(url, headers=owner).status_code == 204
    assert httpx.get(url, headers=owner).status_code == 404
    assert httpx.put(url, headers=owner, json={"enabled": True}).status_code == 404


def test_another_user_gets_404_and_a_viewer_cannot_create(base_url, owner, server):
    hook = create(base_url, owner).json()
    url = f"{base_url}/api/v1/webhooks/{hook['webhook_id']}"
    stranger = account(base_url, "stranger")
    assert httpx.get(url, headers=stranger).status_code == 404
    assert httpx.put(url, headers=stranger, json={"enabled": False}).status_code == 404
    assert httpx.post(f"{url}/rotate-secret", headers=stranger).status_code == 404
    assert httpx.delete(url, headers=stranger).status_code == 404
    assert httpx.get(f"{base_url}/api/v1/webhooks", headers=stranger).json()["total"] == 0
    assert httpx.get(url, headers=owner).json()["enabled"] is True


def test_api_keys_need_the_webhooks_scopes(base_url, owner):
    def key(scopes):
        answer = httpx.post(
            f"{base_url}/api/v1/api-keys", headers=owner, json={"name": "k", "scopes": scopes}
        )
        return {"Authorization": f"Bearer {answer.json()['key']}"}

    reader, writer = key(["webhooks:read"]), key(["webhooks:read", "webhooks:write"])
    refused = create(base_url, reader)
    assert refused.status_code == 403 and "webhooks:write" in refused.json()["detail"]
    assert create(base_url, writer).status_code == 201
    listed = httpx.get(f"{base_url}/api/v1/webhooks", headers=reader)
    assert listed.status_code == 200 and listed.json()["total"] == 1
    tasks_only = key(["tasks:read"])
    assert httpx.get(f"{base_url}/api/v1/webhooks", headers=tasks_only).status_code == 403


def test_the_list_is_paginated_like_tasks(base_url, owner):
    for i in range(3):
        assert create(base_url, owner, description=f"h{i}").status_code == 201
    first = httpx.get(f"{base_url}/api/v1/webhooks?limit=2", headers=owner).json()
    assert first["total"] == 3 and first["has_more"] is True
    assert [h["description"] for h in first["webhooks"]] == ["h2", "h1"]
    second = httpx.get(f"{base_url}/api/v1/webhooks?page=2&per_page=2", headers=owner).json()
    assert [h["description"] for h in second["webhooks"]] == ["h0"]
    assert second["offset"] == 2 and second["has_more"] is False
