"""Behflow's account endpoints, at its own paths: /register, /login, /me."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request

from application.context import CommandContext
from application.ledger import Ledger
from domain.user import User
from interfaces.api.deps import CurrentUserId, LedgerDep
from interfaces.api.errors import (
    AUTHED,
    BAD_REQUEST,
    INVALID,
    NOT_FOUND,
    RATE_LIMITED,
    UNAUTHORIZED,
    TooManyAttempts,
)
from interfaces.api.rate_limit import LoginThrottle
from interfaces.api.schemas import LoginIn, LoginOut, RegisterIn, UserOut

router = APIRouter(tags=["auth"])


@dataclass(frozen=True)
class SignedIn:
    """The outcome of a successful sign-in."""

    user: User
    access_token: str
    refresh_token: str
    expires_in: int


def user_out(user: User) -> UserOut:
    """The public profile of ``user``."""
    return UserOut(user_id=user.id, username=user.username, name=user.name, lastname=user.lastname)


@router.post("/register", responses={400: BAD_REQUEST, 422: INVALID})
def register(body: RegisterIn, app: LedgerDep, request: Request) -> UserOut:
    """Create a new user account (400 when the username already exists)."""
    context = CommandContext(
        actor="anonymous",
        request_id=request.state.request_id,
        correlation_id=request.state.request_id,
    )
    written = app.register_user(context, body.username, body.password, body.name, body.lastname)
    return user_out(written.aggregate)


def signed_in(
    request: Request, app: Ledger, username: str, password: str, totp_code: str | None = None
) -> SignedIn:
    """Authenticate (throttled per username and address; MFA when on) and start a session."""
    throttle: LoginThrottle = request.app.state.login_throttle
    address = request.client.host if request.client else "unknown"
    wait = throttle.attempt(username, address)
    if wait is not None:
        raise TooManyAttempts(wait)
    user = app.authenticate(username, password)
    app.check_second_factor(user, totp_code)
    context = CommandContext.for_user(user.id, request.state.request_id)
    session, refresh_token = app.start_session(context, user)
    tokens = request.app.state.container.tokens
    return SignedIn(
        user, tokens.issue(user.id, session_id=session.id), refresh_token, tokens.ttl_seconds
    )


@router.post("/login", responses={401: UNAUTHORIZED, 422: INVALID, 429: RATE_LIMITED})
def login(body: LoginIn, app: LedgerDep, request: Request) -> LoginOut:
    """Exchange a username and password for an access token and a refresh token."""
    done = signed_in(request, app, body.username, body.password, body.totp_code)
    return LoginOut(
        token=done.access_token,
        refresh_token=done.refresh_token,
        expires_in=done.expires_in,
        user=user_out(done.user),
    )


@router.get("/me", responses={**AUTHED, 404: NOT_FOUND})
def me(user_id: CurrentUserId, app: LedgerDep) -> UserOut:
    """The authenticated user's profile."""
    return user_out(app.get_user(user_id))
