"""Signing in, shared by Behflow's /login, /api/v1/auth/login and OAuth2's /oauth/token."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from application.accounts import AccountCommands
from application.context import CommandContext
from application.ledger import Ledger
from application.mfa import MfaCommands
from application.sessions import SessionCommands
from application.token import TokenIssuer
from domain.user import User
from interfaces.api.errors import TooManyAttempts
from interfaces.api.rate_limit import LoginThrottle
from interfaces.api.schemas_auth import RegisterIn, UserOut


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


def registered(request: Request, app: Ledger, body: RegisterIn) -> User:
    """A new account from a registration body (Behflow's /register, 002's /auth/register)."""
    context = CommandContext(
        actor="anonymous",
        request_id=request.state.request_id,
        correlation_id=request.state.request_id,
    )
    written = app[AccountCommands].register_user(
        context, body.username, body.password, body.name, body.lastname, email=body.email
    )
    return written.aggregate


def signed_in(
    request: Request, app: Ledger, username: str, password: str, totp_code: str | None = None
) -> SignedIn:
    """Authenticate (throttled per username and address; MFA when on) and start a session."""
    throttle: LoginThrottle = request.app.state.login_throttle
    address = request.client.host if request.client else "unknown"
    wait = throttle.attempt(username, address)
    if wait is not None:
        raise TooManyAttempts(wait)
    user = app[AccountCommands].authenticate(username, password)
    app[MfaCommands].check_second_factor(user, totp_code)
    context = CommandContext.for_user(user.id, request.state.request_id)
    session, refresh_token = app[SessionCommands].start_session(context, user)
    tokens: TokenIssuer = request.app.state.tokens
    return SignedIn(
        user, tokens.issue(user.id, session_id=session.id), refresh_token, tokens.ttl_seconds
    )
