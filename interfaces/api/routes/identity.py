"""The seeds' identity routes that have no Behflow twin: 002's register and session list, and
the cookie session that flow8's ``/api/auth/login`` (an alias, see interfaces/features) opens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel

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
from interfaces.api.schemas import LoginIn, PageOut, RegisterIn, page_fields
from interfaces.api.schemas_users import AccountOut, account_out
from interfaces.api.sign_in import registered, signed_in
from projections.session import SessionQueries

router = APIRouter(tags=["auth"])
SessionsDep = Annotated[SessionQueries, Depends(queries(SessionQueries))]


class SessionOpenedOut(BaseModel):
    """A cookie session: who signed in, and for how long the cookie holds."""

    user: AccountOut
    expires_in: int


class SessionRowOut(BaseModel):
    """A live session, as admins list them."""

    session_id: UUID
    user_id: UUID
    username: str | None
    created_at: datetime
    expires_at: datetime | None
    last_refreshed_at: datetime | None


class SessionListOut(PageOut):
    """A page of live sessions."""

    sessions: list[SessionRowOut]


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
