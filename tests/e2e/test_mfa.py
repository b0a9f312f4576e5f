"""TOTP MFA over HTTP: setup, verify, login with a code, disable."""

from __future__ import annotations

import uuid

import httpx
import pyotp
import pytest

PASSWORD = "correct-horse-9"


@pytest.fixture
def account(base_url) -> tuple[dict, dict[str, str]]:
    body = {"username": f"mfa_{uuid.uuid4().hex[:10]}", "password": PASSWORD}
    httpx.post(f"{base_url}/register", json=body)
    token = httpx.post(f"{base_url}/login", json=body).json()["token"]
    return body, {"Authorization": f"Bearer {token}"}


def enable(base_url, headers) -> pyotp.TOTP:
    setup = httpx.post(f"{base_url}/api/v1/auth/mfa/setup", headers=headers).json()
    assert (
        setup["otpauth_uri"].startswith("otpauth://totp/") and "Ledgerflow" in setup["otpauth_uri"]
    )
    totp = pyotp.TOTP(setup["secret"])
    verified = httpx.post(
        f"{base_url}/api/v1/auth/mfa/verify", headers=headers, json={"code": totp.now()}
    )
    assert verified.status_code == 204
    return totp


def test_once_mfa_is_on_login_needs_a_valid_code(base_url, account):
    body, headers = account
    totp = enable(base_url, headers)
    without = httpx.post(f"{base_url}/login", json=body)
    assert without.status_code == 401 and without.json()["code"] == "MFA_REQUIRED"
    wrong = httpx.post(f"{base_url}/login", json={**body, "totp_code": "000000"})
    assert wrong.status_code == 401
    right = httpx.post(f"{base_url}/api/v1/auth/login", json={**body, "totp_code": totp.now()})
    assert right.status_code == 200 and right.json()["access_token"]
    form = {"grant_type": "password", **body, "totp_code": totp.now()}
    assert httpx.post(f"{base_url}/oauth/token", data=form).status_code == 200


def test_a_setup_is_inactive_until_verified_and_a_wrong_code_does_not_verify(base_url, account):
    body, headers = account
    httpx.post(f"{base_url}/api/v1/auth/mfa/setup", headers=headers)
    refused = httpx.post(
        f"{base_url}/api/v1/auth/mfa/verify", headers=headers, json={"code": "000000"}
    )
    assert refused.status_code == 401
    assert httpx.post(f"{base_url}/login", json=body).status_code == 200


def test_disabling_needs_a_current_code(base_url, account):
    body, headers = account
    totp = enable(base_url, headers)
    refused = httpx.post(
        f"{base_url}/api/v1/auth/mfa/disable", headers=headers, json={"code": "000000"}
    )
    assert refused.status_code == 401
    ok = httpx.post(
        f"{base_url}/api/v1/auth/mfa/disable", headers=headers, json={"code": totp.now()}
    )
    assert ok.status_code == 204
    assert httpx.post(f"{base_url}/login", json=body).status_code == 200


def test_mfa_cannot_be_set_up_twice_while_on(base_url, account):
    _, headers = account
    enable(base_url, headers)
    again = httpx.post(f"{base_url}/api/v1/auth/mfa/setup", headers=headers)
    assert again.status_code == 409
