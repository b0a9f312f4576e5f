"""The caller's own account: /api/v1/auth/me and /api/v1/auth/password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from application.accounts import AccountCommands
from application.sessions import SessionCommands
from interfaces.api.deps import Context as ContextDep
from interfaces.api.deps import CurrentUserId, LedgerDep, PrincipalsDep, queries
from interfaces.api.errors import AUTHED, UNAUTHORIZED
from interfaces.api.schemas_users import AccountOut, PasswordChangeIn, ProfileIn, account_out
from projections.session import SessionQueries

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
SessionsDep = Annotated[SessionQueries, Depends(queries(SessionQueries))]


@router.get("/me", responses=AUTHED)
def my_account(user_id: CurrentUserId, app: LedgerDep) -> AccountOut:
    """The authenticated user's account, with role."""
    return account_out(app[AccountCommands].get_user(user_id))


@router.put("/me", responses=AUTHED)
def update_my_profile(
    body: ProfileIn, user_id: CurrentUserId, app: LedgerDep, context: ContextDep
) -> AccountOut:
    """Change one's own name and last name (viewers too)."""
    return account_out(
        app[AccountCommands].update_profile(context, user_id, body.name, body.lastname).aggregate
    )


@router.post("/password", status_code=204, responses={**AUTHED, 401: UNAUTHORIZED})
def change_my_password(
    body: PasswordChangeIn,
    user_id: CurrentUserId,
    app: LedgerDep,
    context: ContextDep,
    principals: PrincipalsDep,
    sessions: SessionsDep,
    request: Request,
) -> Response:
    """Change one's own password (the current one is required); other sessions are revoked."""
    app[AccountCommands].change_password(context, user_id, body.old_password, body.new_password)
    app[SessionCommands].end_other_sessions(context, user_id, request.state.session_id, sessions)
    principals.forget(user_id)
    return Response(status_code=204)
