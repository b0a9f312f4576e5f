"""Request and response bodies of the account and user-administration endpoints."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import AliasChoices, BaseModel, Field, computed_field

from domain.user import PERSON_NAME_MAX, Role, User
from interfaces.api.schemas import PageOut, RegisterIn, StrictIn


class AccountOut(BaseModel):
    """A user as admins (and the user themselves) see it."""

    user_id: UUID
    username: str
    email: str | None
    name: str
    lastname: str
    role: Role
    active: bool
    created_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id(self) -> UUID:
        """The user's id again, as AstraFlow names it."""
        return self.user_id


class AccountRowOut(AccountOut):
    """A row of the admin user list."""

    updated_at: datetime
    version: int


class UserListOut(PageOut):
    """A page of users."""

    users: list[AccountRowOut]


class UserCreateIn(RegisterIn):
    """An account an admin creates, with its role."""

    role: Role = Role.MEMBER


class UserPatchIn(StrictIn):
    """What an admin may change about a user."""

    role: Role | None = None
    active: bool | None = None


class ProfileIn(StrictIn):
    """The fields of one's own profile that can change."""

    name: str | None = Field(default=None, max_length=PERSON_NAME_MAX)
    lastname: str | None = Field(default=None, max_length=PERSON_NAME_MAX)


class PasswordChangeIn(StrictIn):
    """A new password, authorised by the current one."""

    old_password: str = Field(
        max_length=1024, validation_alias=AliasChoices("old_password", "current_password")
    )
    new_password: str = Field(min_length=1, max_length=1024)


def account_out(user: User) -> AccountOut:
    """A user's account as they and admins see it."""
    return AccountOut(
        user_id=user.id,
        username=user.username,
        email=user.email,
        name=user.name,
        lastname=user.lastname,
        role=Role(user.role),
        active=user.active,
        created_at=user.created_on,
    )
