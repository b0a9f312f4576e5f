"""Sign-up and sign-in bodies: accounts, credentials and token pairs."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from domain.user import EMAIL_MAX, PERSON_NAME_MAX
from interfaces.api.schemas import StrictIn


class RegisterIn(StrictIn):
    """Create an account: a username (Behflow) or an email (002, AstraFlow), or both.

    Without a username, the email is the username. 002's ``full_name`` fills ``name`` and
    ``lastname`` (split at the first space) when they are not given.
    """

    username: str = Field(
        default="",
        max_length=EMAIL_MAX,
        examples=["johndoe"],
        description="the name to sign in with; default: the email",
    )
    password: str = Field(
        min_length=1,
        max_length=1024,
        examples=["securepass123"],
        description="the password (the policy refuses short and common ones)",
    )
    name: str = Field(
        default="", max_length=PERSON_NAME_MAX, examples=["John"], description="first name"
    )
    lastname: str = Field(
        default="", max_length=PERSON_NAME_MAX, examples=["Doe"], description="last name"
    )
    email: str | None = Field(
        default=None,
        max_length=EMAIL_MAX,
        examples=["john@example.com"],
        description="an email address to sign in with (unique)",
    )
    full_name: str | None = Field(
        default=None,
        max_length=2 * PERSON_NAME_MAX + 1,
        description="002's full name: fills name and lastname, split at the first space",
        examples=["John Doe"],
    )

    @model_validator(mode="after")
    def _seed_words(self) -> RegisterIn:
        if not self.username:
            if self.email is None:
                raise ValueError("give a username or an email")
            self.username = self.email
        if self.full_name and not (self.name or self.lastname):
            self.name, _, self.lastname = self.full_name.strip().partition(" ")
            self.lastname = self.lastname.strip()
        return self


class LoginIn(StrictIn):
    """Credentials to exchange for a token: a username or an email address, and the password
    (``totp_code`` when the account has MFA on)."""

    username: str | None = Field(
        default=None,
        max_length=EMAIL_MAX,
        examples=["johndoe"],
        description="the username (or the email)",
    )
    email: str | None = Field(
        default=None,
        max_length=EMAIL_MAX,
        description="the email address, instead of the username",
        examples=["john@example.com"],
    )
    password: str = Field(
        max_length=1024, description="the account's password", examples=["securepass123"]
    )
    totp_code: str | None = Field(
        default=None,
        max_length=12,
        description="the current one-time code, when the account has MFA on",
        examples=["123456"],
    )

    @model_validator(mode="after")
    def _one_login(self) -> LoginIn:
        if not (self.username or self.email):
            raise ValueError("give a username or an email")
        return self

    @property
    def login(self) -> str:
        """The name the user signs in with: the username, else the email."""
        return self.username or self.email or ""


REFRESH_EXAMPLE = "6f7a8b9c-0d1e-4f2a-8b3c-5d6e7f8091a2.q8N3Hf0xKc2mW7vYpL4tR9sZbE1uJ6aD"
ACCESS_EXAMPLE = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJqb2huZG9lIn0.c2lnbmF0dXJl"
RefreshToken = Annotated[
    str,
    Field(
        description="exchange it at /api/v1/auth/refresh (or grant_type=refresh_token) for a"
        " new pair; it rotates",
        examples=[REFRESH_EXAMPLE],
    ),
]
TokenType = Annotated[str, Field(description="always bearer", examples=["bearer"])]
ExpiresIn = Annotated[int, Field(description="seconds until it expires", examples=[3600])]


class UserOut(BaseModel):
    """A user's public profile."""

    user_id: UUID = Field(
        description="the user's id", examples=["5e7c1b2a-9d3f-4c6e-8a1b-2f4d6e8a0c1e"]
    )
    username: str = Field(description="the name the user signs in with", examples=["johndoe"])
    name: str = Field(description="first name", examples=["John"])
    lastname: str = Field(description="last name", examples=["Doe"])


class LoginOut(BaseModel):
    """An access token (Behflow's ``token``), a refresh token, and who they belong to."""

    token: str = Field(
        description="the access token: send it as Authorization: Bearer <token> (or bare)",
        examples=[ACCESS_EXAMPLE],
    )
    refresh_token: RefreshToken
    token_type: TokenType = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: ExpiresIn
    user: UserOut = Field(description="who signed in")


class TokenPairOut(BaseModel):
    """An access token and a refresh token (RFC 6749 field names)."""

    access_token: str = Field(
        description="the access token: send it as Authorization: Bearer <token>",
        examples=[ACCESS_EXAMPLE],
    )
    refresh_token: RefreshToken
    token_type: TokenType = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: ExpiresIn
    user: UserOut | None = Field(default=None, description="who signed in (absent on a refresh)")


class RefreshIn(StrictIn):
    """A refresh token to exchange (it rotates: the old one stops working)."""

    refresh_token: str = Field(
        max_length=512,
        description="the refresh token from the last login or refresh",
        examples=[REFRESH_EXAMPLE],
    )
