"""API keys over HTTP: shown once, scoped, masked in lists, revocable at once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

PASSWORD = "correct-horse-9"


@pytest.fixture
def session(base_url) -> dict[str, str]:
    username = f"keys_{uuid.uuid4().hex[:10]}"
    body = {"username": username, "password": PASSWORD}
    httpx.post(f"{base_url}/register", json=body)
    token = httpx.post(f"{base_url}/login", json=body).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def new_key(base_url, session, scopes, **extra) -> dict:
    answer = httpx.post(
        f"{base_url}/api/v1/api-keys",
        headers=session,
        json={"name": "ci", "scopes": scopes, **extra},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def with_key(key: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {key['key']}"}


def test_a_key_is_shown_once_and_listed_masked(base_url, session):
    key = new_key(base_url, session, ["tasks:read"])
    assert key["key"].startswith("lf_") and key["key"].startswith(key["prefix"])
    listed = httpx.get(f"{base_url}/api/v1/api-keys", headers=session).json()
    assert listed["total"] == 1 and "key" not in listed["api_keys"][0]
    assert key["key"] not in httpx.get(f"{base_url}/api/v1/api-keys", headers=session).text


def test_a_key_works_as_bearer_only_within_its_scopes(base_url, session):
    reader = new_key(base_url, session, ["tasks:read"])
    assert httpx.get(f"{base_url}/api/v1/tasks", headers=with_key(reader)).status_code == 200
    refused = httpx.post(f"{base_url}/api/v1/tasks", json={"name": "x"}, headers=with_key(reader))
    assert refused.status_code == 403 and "tasks:write" in refused.json()["detail"]
    writer = new_key(base_url, session, ["tasks:read", "tasks:write"])
    created = httpx.post(
        f"{base_url}/api/v1/tasks", json={"name": "by key"}, headers=with_key(writer)
    )
    assert created.status_code == 201
    listed = httpx.get(f"{base_url}/api/v1/tasks", headers=with_key(reader)).json()
    assert [t["name"] for t in listed["tasks"]] == ["by key"]


def test_a_key_cannot_reach_account_admin_or_key_routes(base_url, session):
    key = new_key(base_url, session, ["tasks:read", "tasks:write", "profile:read"])
    headers = with_key(key)
    assert httpx.get(f"{base_url}/me", headers=headers).status_code == 200
    assert (
        httpx.post(
            f"{base_url}/api/v1/auth/password",
            headers=headers,
            json={"old_password": PASSWORD, "new_password": "other-pass-99"},
        ).status_code
        == 403
    )
    assert httpx.get(f"{base_url}/api/v1/api-keys", headers=headers).status_code == 403
    assert httpx.get(f"{base_url}/api/v1/users", headers=headers).status_code == 403


def test_a_revoked_key_stops_at_once(base_url, session):
    key = new_key(base_url, session, ["tasks:read"])
    assert httpx.get(f"{base_url}/api/v1/tasks", headers=with_key(key)).status_code == 200
    revoked = httpx.delete(f"{base_url}/api/v1/api-keys/{key['api_key_id']}", headers=session)
    assert revoked.status_code == 204
    assert httpx.get(f"{base_url}/api/v1/tasks", headers=with_key(key)).status_code == 401


def test_an_expired_or_tampered_key_is_401(base_url, session):
    soon = datetime.now(UTC) + timedelta(seconds=2)
    key = new_key(base_url, session, ["tasks:read"], expires_at=soon.isoformat())
    tampered = {"Authorization": f"Bearer {key['key'][:-2]}xx"}
    assert httpx.get(f"{base_url}/api/v1/tasks", headers=tampered).status_code == 401
    import time

    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.2)
    assert httpx.get(f"{base_url}/api/v1/tasks", headers=with_key(key)).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": ["admin:all"]},
        {"name": "x", "scopes": ["tasks:read"], "expires_at": "2000-01-01T00:00:00Z"},
    ],
)
def test_bad_key_requests_are_refused(base_url, session, body):
    answer = httpx.post(f"{base_url}/api/v1/api-keys", headers=session, json=body)
    assert answer.status_code == 422


def test_another_users_key_cannot_be_revoked(base_url, session):
    key = new_key(base_url, session, ["tasks:read"])
    username = f"other_{uuid.uuid4().hex[:8]}"
    httpx.post(f"{base_url}/register", json={"username": username, "password": PASSWORD})
    other = httpx.post(f"{base_url}/login", json={"username": username, "password": PASSWORD})
    headers = {"Authorization": other.json()["token"]}
    answer = httpx.delete(f"{base_url}/api/v1/api-keys/{key['api_key_id']}", headers=headers)
    assert answer.status_code == 404
