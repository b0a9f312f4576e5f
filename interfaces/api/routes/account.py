"""The caller's own account: /api/v1/auth/me and /api/v1/auth/password."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from domain.user import Role, User
from interfaces.api.deps import Context as ContextDep
from interfaces.api.deps import CurrentUserId, LedgerDep, PrincipalsDep, SessionsDep
from interfaces.api.errors import AUTHED, UNAUTHORIZED
from interfaces.api.schemas_users import AccountOut, PasswordChangeIn, ProfileIn

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def account_out(user: User) -> AccountOut:
    """A user's account as they and admins see it."""
    return AccountOut(
        user_id=user.id,
        username=user.username,
        name=user.name,
        lastname=user.lastname,
        role=Role(user.role),
        active=user.active,
    )


@router.get("/me", responses=AUTHED)
def my_account(user_id: CurrentUserId, app: LedgerDep) -> AccountOut:
    """The authenticated user's account, with role."""
    return account_out(app.get_user(user_id))


@router.put("/me", responses=AUTHED)
def update_my_profile(
    body: ProfileIn, user_id: CurrentUserId, app: LedgerDep, context: ContextDep
) -> AccountOut:
    """Change one's own name and last name (viewers too)."""
    return account_out(app.update_profile(context, user_id, body.name, body.lastname).aggregate)


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
    app.change_password(context, user_id, body.old_password, body.new_password)
    app.end_other_sessions(context, user_id, request.state.session_id, sessions)
    principals.forget(user_id)
    return Response(status_code=204)
