"""Roles, account administration and deactivation over HTTP against a real server."""

from __future__ import annotations

import time

import httpx
import pytest

PASSWORD = "correct-horse-9"


def register(base_url: str, username: str) -> dict:
    body = {"username": username, "password": PASSWORD, "name": username, "lastname": "X"}
    answer = httpx.post(f"{base_url}/register", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def login(base_url: str, username: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(f"{base_url}/login", json={"username": username, "password": password})


def auth(base_url: str, username: str, password: str = PASSWORD) -> dict[str, str]:
    return {"Authorization": f"Bearer {login(base_url, username, password).json()['token']}"}


@pytest.fixture(scope="module")
def admin(server) -> dict[str, str]:
    """The first user ever registered on this server: an admin."""
    register(server.base_url, "first_admin")
    return auth(server.base_url, "first_admin")


@pytest.fixture
def member(base_url, admin, request) -> tuple[dict, dict[str, str]]:
    name = f"member_{request.node.name[-20:].strip('_').lower()}"[:60]
    user = register(base_url, name)
    return user, auth(base_url, name)


def test_the_first_user_is_admin_and_the_next_ones_members(base_url, admin, member):
    assert httpx.get(f"{base_url}/api/v1/auth/me", headers=admin).json()["role"] == "admin"
    assert httpx.get(f"{base_url}/api/v1/auth/me", headers=member[1]).json()["role"] == "member"


def test_only_an_admin_lists_and_filters_users(base_url, admin, member):
    assert httpx.get(f"{base_url}/api/v1/users", headers=member[1]).status_code == 403
    everyone = httpx.get(f"{base_url}/api/v1/users", headers=admin).json()
    assert everyone["total"] >= 2 and {"users", "limit", "offset", "has_more"} <= set(everyone)
    admins = httpx.get(f"{base_url}/api/v1/users", params={"role": "admin"}, headers=admin).json()
    assert [u["username"] for u in admins["users"]] == ["first_admin"]
    assert all("credential" not in u for u in everyone["users"])


def test_a_viewer_created_by_an_admin_can_read_but_not_change(base_url, admin):
    body = {"username": "a_viewer", "password": PASSWORD, "role": "viewer"}
    created = httpx.post(f"{base_url}/api/v1/users", json=body, headers=admin)
    assert created.status_code == 201 and created.json()["role"] == "viewer"
    viewer = auth(base_url, "a_viewer")
    assert httpx.get(f"{base_url}/api/v1/tasks", headers=viewer).status_code == 200
    refused = httpx.post(f"{base_url}/api/v1/tasks", json={"name": "x"}, headers=viewer)
    assert refused.status_code == 403 and refused.json()["code"] == "FORBIDDEN"
    assert httpx.get(f"{base_url}/api/v1/tasks", headers=viewer).json()["total"] == 0


def test_a_member_cannot_create_users_or_change_roles(base_url, member):
    user, headers = member
    body = {"username": "sneaky", "password": PASSWORD, "role": "admin"}
    assert httpx.post(f"{base_url}/api/v1/users", json=body, headers=headers).status_code == 403
    patch = httpx.patch(
        f"{base_url}/api/v1/users/{user['user_id']}", json={"role": "admin"}, headers=headers
    )
    assert patch.status_code == 403


def test_a_deactivated_users_token_stops_working_at_once_and_login_is_refused(
    base_url, admin, member
):
    user, headers = member
    assert httpx.get(f"{base_url}/api/v1/tasks", headers=headers).status_code == 200
    off = httpx.patch(
        f"{base_url}/api/v1/users/{user['user_id']}", json={"active": False}, headers=admin
    )
    assert off.status_code == 200 and off.json()["active"] is False
    assert httpx.get(f"{base_url}/api/v1/tasks", headers=headers).status_code == 401
    assert httpx.get(f"{base_url}/me", headers=headers).status_code == 401
    assert login(base_url, user["username"]).status_code == 401
    on = httpx.patch(
        f"{base_url}/api/v1/users/{user['user_id']}", json={"active": True}, headers=admin
    )
    assert on.status_code == 200
    fresh = login(base_url, user["username"])
    assert fresh.status_code == 200
    again = {"Authorization": f"Bearer {fresh.json()['token']}"}
    assert httpx.get(f"{base_url}/api/v1/tasks", headers=again).status_code == 200
    # Deactivation also ended the old token's session (a reactor, moments later): it stays dead.
    deadline = time.monotonic() + 15
    while httpx.get(f"{base_url}/api/v1/tasks", headers=headers).status_code != 401:
        assert time.monotonic() < deadline, "the old session was not revoked"
        time.sleep(0.1)


def test_an_admin_cannot_demote_or_deactivate_themselves(base_url, admin):
    me = httpx.get(f"{base_url}/api/v1/auth/me", headers=admin).json()
    for change in ({"active": False}, {"role": "member"}):
        answer = httpx.patch(f"{base_url}/api/v1/users/{me['user_id']}", json=change, headers=admin)
        assert answer.status_code == 403


def test_a_role_change_applies_to_the_next_request(base_url, admin, member):
    user, headers = member
    httpx.patch(
        f"{base_url}/api/v1/users/{user['user_id']}", json={"role": "viewer"}, headers=admin
    )
    assert (
        httpx.post(f"{base_url}/api/v1/tasks", json={"name": "x"}, headers=headers).status_code
        == 403
    )


def test_changing_the_password_needs_the_old_one(base_url, member):
    user, headers = member
    url = f"{base_url}/api/v1/auth/password"
    wrong = httpx.post(
        url, json={"old_password": "nope", "new_password": "another-pass-1"}, headers=headers
    )
    assert wrong.status_code == 401
    ok = httpx.post(
        url, json={"old_password": PASSWORD, "new_password": "another-pass-1"}, headers=headers
    )
    assert ok.status_code == 204
    assert login(base_url, user["username"]).status_code == 401
    assert login(base_url, user["username"], "another-pass-1").status_code == 200


def test_a_user_updates_their_own_profile(base_url, member):
    _, headers = member
    answer = httpx.put(f"{base_url}/api/v1/auth/me", json={"name": "Renamed"}, headers=headers)
    assert answer.status_code == 200 and answer.json()["name"] == "Renamed"
    assert httpx.get(f"{base_url}/me", headers=headers).json()["name"] == "Renamed"


def test_an_unknown_user_id_is_404_for_an_admin(base_url, admin):
    answer = httpx.patch(
        f"{base_url}/api/v1/users/00000000-0000-0000-0000-000000000001",
        json={"active": False},
        headers=admin,
    )
    assert answer.status_code == 404
