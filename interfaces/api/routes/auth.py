"""Behflow's account endpoints, at its own paths: /register, /login, /me."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from application.context import CommandContext
from domain.user import User
from interfaces.api.deps import CurrentUserId, LedgerDep, container
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
from interfaces.bootstrap import Container

router = APIRouter(tags=["auth"])
ContainerDep = Annotated[Container, Depends(container)]


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


@router.post("/login", responses={401: UNAUTHORIZED, 422: INVALID, 429: RATE_LIMITED})
def login(body: LoginIn, app: LedgerDep, built: ContainerDep, request: Request) -> LoginOut:
    """Exchange a username and password for an access token (attempts are rate limited)."""
    throttle: LoginThrottle = request.app.state.login_throttle
    address = request.client.host if request.client else "unknown"
    wait = throttle.attempt(body.username, address)
    if wait is not None:
        raise TooManyAttempts(wait)
    user = app.authenticate(body.username, body.password)
    return LoginOut(
        token=built.tokens.issue(user.id),
        expires_in=built.settings.token_ttl_seconds,
        user=user_out(user),
    )


@router.get("/me", responses={**AUTHED, 404: NOT_FOUND})
def me(user_id: CurrentUserId, app: LedgerDep) -> UserOut:
    """The authenticated user's profile."""
    return user_out(app.get_user(user_id))
