"""User administration (admins only): /api/v1/users."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, status
from starlette.concurrency import run_in_threadpool

from application.accounts import AccountCommands
from domain.user import Role
from interfaces.api.deps import (
    Admin,
    ConsistencyDep,
    LedgerDep,
    PagingDep,
    PrincipalsDep,
    queries,
)
from interfaces.api.deps import Context as ContextDep
from interfaces.api.errors import AUTHED, BAD_REQUEST, FORBIDDEN, NOT_FOUND
from interfaces.api.read_wait import settled
from interfaces.api.schemas import page_fields
from interfaces.api.schemas_users import (
    AccountOut,
    AccountRowOut,
    UserCreateIn,
    UserListOut,
    UserPatchIn,
    account_out,
)
from projections.user import UserQueries

router = APIRouter(prefix="/api/v1/users", tags=["users"])
UsersDep = Annotated[UserQueries, Depends(queries(UserQueries))]
ADMIN_ONLY = {**AUTHED, 403: FORBIDDEN}


@router.get("", responses=ADMIN_ONLY)
def list_users(
    admin: Admin,
    users: UsersDep,
    _: Annotated[None, settled(UserQueries)],
    paging: PagingDep,
    role: Role | None = None,
    active: bool | None = None,
) -> UserListOut:
    """All users, oldest first, filtered by role and active state."""
    limit, offset = paging.limit, paging.offset
    found = users.list(role and role.value, active, limit, offset)
    return UserListOut(
        users=[AccountRowOut.model_validate(row) for row in found.users],
        **page_fields(found.total, limit, offset, len(found.users)),
    )


@router.post("", status_code=status.HTTP_201_CREATED, responses={**ADMIN_ONLY, 400: BAD_REQUEST})
def create_user(
    body: UserCreateIn,
    admin: Admin,
    app: LedgerDep,
    context: ContextDep,
    consistency: ConsistencyDep,
) -> AccountOut:
    """Create an account with a role (400 when the username exists)."""
    written = app[AccountCommands].create_user(
        context,
        admin,
        body.username,
        body.password,
        body.name,
        body.lastname,
        body.role.value,
        body.email,
    )
    consistency.wrote(admin.user_id, written.position)
    return account_out(written.aggregate)


@router.patch("/{user_id}", responses={**ADMIN_ONLY, 404: NOT_FOUND})
async def administer_user(
    user_id: UUID,
    body: UserPatchIn,
    admin: Admin,
    app: LedgerDep,
    context: ContextDep,
    consistency: ConsistencyDep,
    principals: PrincipalsDep,
    users: UsersDep,
) -> AccountOut:
    """Change a user's role or deactivate/reactivate them; takes effect on their tokens at once."""
    written = await run_in_threadpool(
        app[AccountCommands].administer_user,
        context,
        admin,
        user_id,
        body.role and body.role.value,
        body.active,
    )
    # Answer only once the users read model (which every instance checks tokens against) has it.
    await consistency.wrote_async(admin.user_id, written.position)
    await consistency.settle_async(users.name, admin.user_id)
    principals.forget(user_id)
    return account_out(written.aggregate)
