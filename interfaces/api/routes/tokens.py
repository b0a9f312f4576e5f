"""Token endpoints: /api/v1/auth/login, /refresh, /logout, and OAuth2's /oauth/token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from application.context import CommandContext
from application.error import InvalidCredentials, InvalidToken
from application.sessions import SessionCommands
from application.token import TokenIssuer
from interfaces.api.cookie import clear_session
from interfaces.api.deps import ConsistencyDep, CurrentUserId, LedgerDep, PrincipalsDep, queries
from interfaces.api.deps import Context as ContextDep
from interfaces.api.errors import AUTHED, INVALID, RATE_LIMITED, UNAUTHORIZED, TooManyAttempts
from interfaces.api.schemas_auth import (
    ACCESS_EXAMPLE,
    ExpiresIn,
    LoginIn,
    RefreshIn,
    RefreshToken,
    TokenPairOut,
    TokenType,
)
from interfaces.api.sign_in import SignedIn, signed_in, user_out
from projections.session import SessionQueries

router = APIRouter(tags=["auth"])
PUBLIC: dict[int | str, dict[str, Any]] = {401: UNAUTHORIZED, 422: INVALID, 429: RATE_LIMITED}


def pair(done: SignedIn) -> TokenPairOut:
    """The token pair of a sign-in or a refresh."""
    return TokenPairOut(
        access_token=done.access_token,
        refresh_token=done.refresh_token,
        expires_in=done.expires_in,
        user=user_out(done.user),
    )


def refreshed(request: Request, app: LedgerDep, refresh_token: str) -> SignedIn:
    """Rotate a refresh token into a new pair (a reused one revokes its session)."""
    context = CommandContext(
        actor="anonymous",
        request_id=request.state.request_id,
        correlation_id=request.state.request_id,
    )
    session, new_refresh, user = app[SessionCommands].refresh_session(context, refresh_token)
    tokens: TokenIssuer = request.app.state.tokens
    return SignedIn(
        user, tokens.issue(user.id, session_id=session.id), new_refresh, tokens.ttl_seconds
    )


@router.post("/api/v1/auth/login", responses=PUBLIC)
def login(body: LoginIn, app: LedgerDep, request: Request) -> TokenPairOut:
    """Exchange a username (or email) and password for an access token and a refresh token."""
    return pair(signed_in(request, app, body.login, body.password, body.totp_code))


@router.post("/api/v1/auth/refresh", responses=PUBLIC)
def refresh(body: RefreshIn, app: LedgerDep, request: Request) -> TokenPairOut:
    """Exchange a refresh token for a new pair; the old refresh token stops working."""
    return pair(refreshed(request, app, body.refresh_token))


@router.post("/api/v1/auth/logout", status_code=204, responses=AUTHED)
async def logout(
    request: Request,
    user_id: CurrentUserId,
    app: LedgerDep,
    context: ContextDep,
    consistency: ConsistencyDep,
    principals: PrincipalsDep,
    sessions: Annotated[SessionQueries, Depends(queries(SessionQueries))],
) -> Response:
    """End this session: its access and refresh tokens (and its cookie) stop working at once,
    everywhere."""
    session_id = request.state.session_id
    if session_id is not None:
        end = app[SessionCommands].end_session
        position = await run_in_threadpool(end, context, user_id, session_id)
        # Answer once the sessions read model, which every instance checks, has it.
        await consistency.wrote_async(user_id, position)
        await consistency.settle_async(sessions.name, user_id)
        principals.forget_session(session_id)
    ended = Response(status_code=204)
    clear_session(ended, request)  # a cookie session (flow8's /api/auth/logout) ends here too
    return ended


def oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    """An RFC 6749 §5.2 error response."""
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse({"error": error, "error_description": description}, status, headers)


class OAuthTokenOut(BaseModel):
    """RFC 6749's token answer (no ``user``: OAuth2 clients do not expect one)."""

    access_token: str = Field(
        description="the access token: send it as Authorization: Bearer <token>",
        examples=[ACCESS_EXAMPLE],
    )
    token_type: TokenType
    expires_in: ExpiresIn
    refresh_token: RefreshToken


def _form(description: str, example: str) -> Any:
    return Form(description=description, examples=[example])


@router.post(
    "/oauth/token",
    responses={
        200: {"model": OAuthTokenOut, "description": "The tokens"},
        400: {"description": "RFC 6749 error"},
        429: RATE_LIMITED,
    },
)
def oauth_token(
    request: Request,
    app: LedgerDep,
    grant_type: Annotated[str, _form("password or refresh_token", "password")],
    username: Annotated[
        str | None, _form("the username or the email (password grant)", "johndoe")
    ] = None,
    password: Annotated[str | None, _form("the password (password grant)", "securepass123")] = None,
    refresh_token: Annotated[
        str | None,
        _form(
            "the refresh token (refresh_token grant)",
            "6f7a8b9c-0d1e-4f2a-8b3c-5d6e7f8091a2.q8N3Hf0xKc2mW7vYpL4tR9sZbE1uJ6aD",
        ),
    ] = None,
    scope: Annotated[str | None, _form("accepted and ignored (RFC 6749)", "tasks:read")] = None,
    totp_code: Annotated[
        str | None, _form("the current one-time code when the account has MFA on", "123456")
    ] = None,
) -> Response:
    """OAuth2 token endpoint (RFC 6749): `password` and `refresh_token` grants, form-encoded."""
    try:
        if grant_type == "password" and username and password is not None:
            done = signed_in(request, app, username, password, totp_code)
        elif grant_type == "refresh_token" and refresh_token:
            done = refreshed(request, app, refresh_token)
        elif grant_type in ("password", "refresh_token"):
            return oauth_error("invalid_request", "Missing a parameter of this grant")
        else:
            return oauth_error("unsupported_grant_type", "Use password or refresh_token")
    except (InvalidCredentials, InvalidToken):
        return oauth_error("invalid_grant", "Invalid credentials or refresh token")
    except TooManyAttempts as error:
        answer = oauth_error("invalid_grant", str(error), 429)
        answer.headers["Retry-After"] = str(error.retry_after)
        return answer
    body = {
        "access_token": done.access_token,
        "token_type": "bearer",
        "expires_in": done.expires_in,
        "refresh_token": done.refresh_token,
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
