"""The seeds' identity routes that have no Behflow twin: 002's register and session list, and
the cookie session that flow8's ``/api/auth/login`` (an alias, see interfaces/features) opens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, Field

from interfaces.api.cookie import set_session
from interfaces.api.deps import Admin, LedgerDep, PagingDep, queries
from interfaces.api.errors import (
    AUTHED,
    BAD_REQUEST,
    FORBIDDEN,
    INVALID,
    RATE_LIMITED,
    UNAUTHORIZED,
)
from interfaces.api.schema_fields import CreatedAt
from interfaces.api.schemas import PageOut, page_fields
from interfaces.api.schemas_auth import LoginIn, RegisterIn
from interfaces.api.schemas_users import AccountOut, account_out
from interfaces.api.sign_in import registered, signed_in
from projections.session import SessionQueries

router = APIRouter(tags=["auth"])
SessionsDep = Annotated[SessionQueries, Depends(queries(SessionQueries))]


class SessionOpenedOut(BaseModel):
    """A cookie session: who signed in, and for how long the cookie holds."""

    user: AccountOut = Field(description="who signed in")
    expires_in: int = Field(description="seconds until it expires", examples=[3600])


class SessionRowOut(BaseModel):
    """A live session, as admins list them."""

    session_id: UUID = Field(
        description="the session's id", examples=["6f7a8b9c-0d1e-4f2a-8b3c-5d6e7f8091a2"]
    )
    user_id: UUID = Field(
        description="the user's id", examples=["5e7c1b2a-9d3f-4c6e-8a1b-2f4d6e8a0c1e"]
    )
    username: str | None = Field(
        description="the name the user signs in with", examples=["johndoe"]
    )
    created_at: CreatedAt
    expires_at: datetime | None = Field(
        description="when the session ends unless refreshed", examples=["2026-12-01T10:05:00Z"]
    )
    last_refreshed_at: datetime | None = Field(
        description="when its token was last refreshed", examples=["2026-12-01T10:05:00Z"]
    )


class SessionListOut(PageOut):
    """A page of live sessions."""

    sessions: list[SessionRowOut] = Field(description="the live sessions of this page")


@router.post(
    "/api/v1/auth/register",
    status_code=status.HTTP_201_CREATED,
    responses={400: BAD_REQUEST, 422: INVALID},
)
def register_account(body: RegisterIn, app: LedgerDep, request: Request) -> AccountOut:
    """Create an account (002's form: `email`, `password`, `full_name`); 400 when the username
    or the email is taken."""
    return account_out(registered(request, app, body))


@router.post("/api/v1/auth/session", responses={401: UNAUTHORIZED, 422: INVALID, 429: RATE_LIMITED})
def open_session(
    body: LoginIn, app: LedgerDep, request: Request, response: Response
) -> SessionOpenedOut:
    """Sign in with a username or email and get an HttpOnly session cookie (browsers, flow8's
    `/api/auth/login`). Changes made with the cookie need a same-origin `Origin` or `Referer`;
    `/api/v1/auth/logout` ends the session and removes the cookie."""
    done = signed_in(request, app, body.login, body.password, body.totp_code)
    set_session(response, request, done.access_token, done.expires_in)
    return SessionOpenedOut(user=account_out(done.user), expires_in=done.expires_in)


@router.get("/api/v1/security/sessions", responses={**AUTHED, 403: FORBIDDEN})
def list_sessions(_: Admin, sessions: SessionsDep, paging: PagingDep) -> SessionListOut:
    """Live sessions of every user, newest first (admins; 002's `GET /security/sessions`)."""
    rows, total = sessions.active(paging.limit, paging.offset)
    out = [SessionRowOut.model_validate(row) for row in rows]
    return SessionListOut(sessions=out, **page_fields(total, paging.limit, paging.offset, len(out)))
