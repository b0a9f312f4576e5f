"""Refresh tokens, logout and the OAuth2 token endpoint against a real server."""

from __future__ import annotations

import uuid

import httpx
import pytest

PASSWORD = "correct-horse-9"


@pytest.fixture
def user(base_url) -> dict[str, str]:
    username = f"tok_{uuid.uuid4().hex[:10]}"
    body = {"username": username, "password": PASSWORD}
    assert httpx.post(f"{base_url}/register", json=body).status_code == 200
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def works(base_url: str, token: str) -> int:
    return httpx.get(f"{base_url}/api/v1/tasks", headers=bearer(token)).status_code


def test_behflow_login_also_returns_a_refresh_token(base_url, user):
    answer = httpx.post(f"{base_url}/login", json=user).json()
    assert answer["token"] and answer["refresh_token"] and answer["user"]["username"]


def test_a_refresh_token_rotates_and_the_new_pair_works(base_url, user):
    first = httpx.post(f"{base_url}/api/v1/auth/login", json=user).json()
    assert {"access_token", "refresh_token", "token_type", "expires_in"} <= set(first)
    second = httpx.post(
        f"{base_url}/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert second.status_code == 200
    pair = second.json()
    assert pair["refresh_token"] != first["refresh_token"]
    assert works(base_url, pair["access_token"]) == 200


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(base_url, user):
    first = httpx.post(f"{base_url}/api/v1/auth/login", json=user).json()
    second = httpx.post(
        f"{base_url}/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    ).json()
    replay = httpx.post(
        f"{base_url}/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert replay.status_code == 401
    after = httpx.post(
        f"{base_url}/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert after.status_code == 401


def test_logout_stops_the_access_and_refresh_tokens_at_once(base_url, user):
    pair = httpx.post(f"{base_url}/api/v1/auth/login", json=user).json()
    other = httpx.post(f"{base_url}/api/v1/auth/login", json=user).json()
    assert works(base_url, pair["access_token"]) == 200
    out = httpx.post(f"{base_url}/api/v1/auth/logout", headers=bearer(pair["access_token"]))
    assert out.status_code == 204
    assert works(base_url, pair["access_token"]) == 401
    assert (
        httpx.post(
            f"{base_url}/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
        ).status_code
        == 401
    )
    assert works(base_url, other["access_token"]) == 200  # another session is untouched


def test_a_password_change_revokes_the_other_sessions_only(base_url, user):
    mine = httpx.post(f"{base_url}/api/v1/auth/login", json=user).json()
    other = httpx.post(f"{base_url}/api/v1/auth/login", json=user).json()
    changed = httpx.post(
        f"{base_url}/api/v1/auth/password",
        headers=bearer(mine["access_token"]),
        json={"old_password": PASSWORD, "new_password": "brand-new-pass-2"},
    )
    assert changed.status_code == 204
    assert works(base_url, mine["access_token"]) == 200
    assert works(base_url, other["access_token"]) == 401


@pytest.mark.parametrize(
    "token", ["", "nonsense", "0b7c6a5e-1d2f-4a3b-9c8d-7e6f5a4b3c2d.secret", "a.b.c"]
)
def test_an_unknown_refresh_token_is_401(base_url, token):
    answer = httpx.post(f"{base_url}/api/v1/auth/refresh", json={"refresh_token": token})
    assert answer.status_code == 401


def test_the_oauth2_password_and_refresh_grants_follow_rfc_6749(base_url, user):
    url = f"{base_url}/oauth/token"
    granted = httpx.post(url, data={"grant_type": "password", **user})
    assert granted.status_code == 200 and granted.headers["Cache-Control"] == "no-store"
    body = granted.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    assert works(base_url, body["access_token"]) == 200
    again = httpx.post(
        url, data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    )
    assert again.status_code == 200 and works(base_url, again.json()["access_token"]) == 200


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "password", "username": "nobody_here", "password": "x"}, "invalid_grant"),
        ({"grant_type": "refresh_token", "refresh_token": "bogus"}, "invalid_grant"),
        ({"grant_type": "password"}, "invalid_request"),
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
    ],
)
def test_oauth2_errors_are_rfc_6749_errors(base_url, form, error):
    answer = httpx.post(f"{base_url}/oauth/token", data=form)
    assert answer.status_code == 400 and answer.json()["error"] == error


def test_swagger_ui_can_authorize_with_the_oauth2_password_flow(base_url):
    schemes = httpx.get(f"{base_url}/openapi.json").json()["components"]["securitySchemes"]
    flows = [s["flows"] for s in schemes.values() if s["type"] == "oauth2"]
    assert flows and flows[0]["password"]["tokenUrl"] == "/oauth/token"
