"""Request and response bodies of the account and user-administration endpoints."""

from __future__ import annotations

from uuid import UUID

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, computed_field

from domain.user import PERSON_NAME_MAX, Role, User
from interfaces.api.schema_fields import CreatedAt, UpdatedAt
from interfaces.api.schemas import PageOut, StrictIn
from interfaces.api.schemas_auth import RegisterIn


class AccountOut(BaseModel):
    """A user as admins (and the user themselves) see it."""

    user_id: UUID = Field(
        description="the user's id", examples=["5e7c1b2a-9d3f-4c6e-8a1b-2f4d6e8a0c1e"]
    )
    username: str = Field(description="the name the user signs in with", examples=["johndoe"])
    email: str | None = Field(
        description="the email address, if any", examples=["john@example.com"]
    )
    name: str = Field(description="first name", examples=["John"])
    lastname: str = Field(description="last name", examples=["Doe"])
    role: Role = Field(description="admin, member or viewer", examples=["member"])
    active: bool = Field(description="false when an admin deactivated the account", examples=[True])
    created_at: CreatedAt

    @computed_field(  # type: ignore[prop-decorator]
        description="the user's id again, as AstraFlow names it",
        examples=["5e7c1b2a-9d3f-4c6e-8a1b-2f4d6e8a0c1e"],
    )
    @property
    def id(self) -> UUID:
        """The user's id again, as AstraFlow names it."""
        return self.user_id


class AccountRowOut(AccountOut):
    """A row of the admin user list."""

    updated_at: UpdatedAt
    version: int = Field(description="the account's version (its events so far)", examples=[3])


class UserListOut(PageOut):
    """A page of users."""

    users: list[AccountRowOut] = Field(description="the users of this page")


class UserCreateIn(RegisterIn):
    """An account an admin creates, with its role."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "username": "janedoe",
                    "password": "another-passphrase-7",
                    "name": "Jane",
                    "lastname": "Doe",
                    "role": "member",
                }
            ]
        }
    )

    role: Role = Field(
        default=Role.MEMBER,
        description="the new user's role: admin, member or viewer",
        examples=["member"],
    )


class UserPatchIn(StrictIn):
    """What an admin may change about a user."""

    role: Role | None = Field(
        default=None,
        description="the user's new role: admin, member or viewer",
        examples=["viewer"],
    )
    active: bool | None = Field(
        default=None,
        description="false deactivates the account (its tokens stop working)",
        examples=[False],
    )


class ProfileIn(StrictIn):
    """The fields of one's own profile that can change."""

    name: str | None = Field(
        default=None,
        max_length=PERSON_NAME_MAX,
        description="your new first name",
        examples=["Johnny"],
    )
    lastname: str | None = Field(
        default=None, max_length=PERSON_NAME_MAX, description="your new last name", examples=["Doe"]
    )


class PasswordChangeIn(StrictIn):
    """A new password, authorised by the current one."""

    old_password: str = Field(
        max_length=1024,
        validation_alias=AliasChoices("old_password", "current_password"),
        description="the current password (002's current_password)",
        examples=["securepass123"],
    )
    new_password: str = Field(
        min_length=1,
        max_length=1024,
        description="the new password (the policy refuses short and common ones)",
        examples=["a-longer-passphrase-42"],
    )


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
