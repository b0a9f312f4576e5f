"""Behflow's account endpoints, at its own paths: /register, /login, /me."""

from __future__ import annotations

from fastapi import APIRouter, Request

from application.accounts import AccountCommands
from interfaces.api.deps import CurrentUserId, LedgerDep
from interfaces.api.errors import (
    AUTHED,
    BAD_REQUEST,
    INVALID,
    NOT_FOUND,
    RATE_LIMITED,
    UNAUTHORIZED,
)
from interfaces.api.schemas_auth import LoginIn, LoginOut, RegisterIn, UserOut
from interfaces.api.sign_in import registered, signed_in, user_out

router = APIRouter(tags=["auth"])


@router.post("/register", responses={400: BAD_REQUEST, 422: INVALID})
def register(body: RegisterIn, app: LedgerDep, request: Request) -> UserOut:
    """Create a new user account (400 when the username already exists)."""
    return user_out(registered(request, app, body))


@router.post("/login", responses={401: UNAUTHORIZED, 422: INVALID, 429: RATE_LIMITED})
def login(body: LoginIn, app: LedgerDep, request: Request) -> LoginOut:
    """Exchange a username (or email) and password for an access token and a refresh token."""
    done = signed_in(request, app, body.login, body.password, body.totp_code)
    return LoginOut(
        token=done.access_token,
        refresh_token=done.refresh_token,
        expires_in=done.expires_in,
        user=user_out(done.user),
    )


@router.get("/me", responses={**AUTHED, 404: NOT_FOUND})
def me(user_id: CurrentUserId, app: LedgerDep) -> UserOut:
    """The authenticated user's profile."""
    return user_out(app[AccountCommands].get_user(user_id))
