"""The User aggregate and the Username claim that keeps usernames unique."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.error import Conflict, InvalidValue, NotFound
from domain.value import bounded_text

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{2,63}$")
PERSON_NAME_MAX = 100
USERNAME_NAMESPACE = UUID("6f6b2d1e-3c55-4d1b-9a8e-2f1c5d7b9e10")
EMAIL_NAMESPACE = UUID("3c0a4e7b-5d21-4f8e-b6a9-1e2d3c4b5a69")
EMAIL_MAX = 254
# Deliberately loose (one @, a dot in the domain, no spaces): a mail server decides the rest.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Role(StrEnum):
    """What a user may do: admins manage users, members change their own work, viewers read."""

    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


def _role(value: str) -> str:
    try:
        return Role(value).value
    except ValueError:
        raise InvalidValue("role", "must be one of: admin, member, viewer") from None


class UserNotFound(NotFound):
    """No such user."""

    kind = "user"


class MfaAlreadyEnabled(Conflict):
    """MFA is on: turn it off (with a current code) before setting it up again."""

    def __init__(self, user_id: UUID) -> None:
        super().__init__("MFA is already enabled; disable it first")
        self.user_id = user_id


class MfaNotPending(Conflict):
    """There is no MFA setup to confirm, or no MFA to disable."""

    def __init__(self, user_id: UUID) -> None:
        super().__init__("No MFA setup is waiting for confirmation, or MFA is not enabled")
        self.user_id = user_id


class UsernameTaken(Conflict):
    """Another account already uses this username."""

    code = "USERNAME_TAKEN"

    def __init__(self, username: str) -> None:
        super().__init__("Username already exists")
        self.username = username


class EmailTaken(Conflict):
    """Another account already uses this email address."""

    code = "EMAIL_TAKEN"

    def __init__(self, email: str) -> None:
        super().__init__("Email already exists")
        self.email = email


def normalise_email(email: str) -> str:
    """The canonical form of an email address: stripped and case-folded; refused when malformed."""
    text = bounded_text("email", email, max_length=EMAIL_MAX)
    if not EMAIL_PATTERN.match(text):
        raise InvalidValue("email", "must be an email address (name@example.com)")
    return text.casefold()


def normalise_username(username: str) -> str:
    """The canonical form of a username: stripped and case-folded; refused when malformed."""
    text = bounded_text("username", username, max_length=64)
    if not USERNAME_PATTERN.match(text):
        raise InvalidValue(
            "username",
            "must be 3 to 64 characters: letters, digits and _ . @ + - (starting with a letter or"
            " digit)",
        )
    return text.casefold()


class User(Aggregate):
    """A person who logs in. The credential is an opaque sealed string, never a clear hash."""

    TOPIC = "user"

    class Created(Aggregate.Created):
        """Wire type ``user.registered``."""

        TOPIC = "user.registered"
        class_version = 2
        username: str
        name: str
        lastname: str
        credential: str
        email: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """v1 had no email: users registered before it load without one."""
            state["email"] = None

    class RoleChanged(Aggregate.Event):
        TOPIC = "user.role_changed"
        from_role: str
        to_role: str

    class Deactivated(Aggregate.Event):
        TOPIC = "user.deactivated"

    class Reactivated(Aggregate.Event):
        TOPIC = "user.reactivated"

    class PasswordChanged(Aggregate.Event):
        TOPIC = "user.password_changed"
        credential: str

    class ProfileUpdated(Aggregate.Event):
        TOPIC = "user.profile_updated"
        changes: dict[str, str]

    class MfaSetupStarted(Aggregate.Event):
        TOPIC = "user.mfa_setup_started"
        sealed_totp_secret: str

    class MfaEnabled(Aggregate.Event):
        TOPIC = "user.mfa_enabled"

    class MfaDisabled(Aggregate.Event):
        TOPIC = "user.mfa_disabled"

    def __init__(
        self, username: str, name: str, lastname: str, credential: str, email: str | None
    ) -> None:
        self.username = username
        self.email = email
        self.name = name
        self.lastname = lastname
        self.credential = credential
        self.role = Role.MEMBER.value
        self.active = True
        self.sealed_totp_secret: str | None = None
        self.mfa_enabled = False

    def change_role(self, role: str) -> None:
        """Give the user another role; the same role records nothing."""
        new = _role(role)
        if new != self.role:
            self._change_role(from_role=self.role, to_role=new)

    def deactivate(self) -> None:
        """Stop the user from signing in or using any token; idempotent."""
        if self.active:
            self._deactivate()

    def reactivate(self) -> None:
        """Let a deactivated user in again; idempotent."""
        if not self.active:
            self._reactivate()

    def change_password(self, credential: str) -> None:
        """Replace the sealed credential (the caller checked the old password and the policy)."""
        self._change_password(credential=bounded_text("credential", credential, max_length=4096))

    def update_profile(self, name: str | None = None, lastname: str | None = None) -> None:
        """Change the name and last name; unchanged values record nothing."""
        given = {"name": name, "lastname": lastname}
        changes = {
            k: bounded_text(k, v, max_length=PERSON_NAME_MAX, required=False)
            for k, v in given.items()
            if v is not None
        }
        changes = {k: v for k, v in changes.items() if getattr(self, k) != v}
        if changes:
            self._update_profile(changes=changes)

    def start_mfa_setup(self, sealed_totp_secret: str) -> None:
        """Record a new (sealed) TOTP secret waiting for its first code; refused once enabled."""
        if self.mfa_enabled:
            raise MfaAlreadyEnabled(self.id)
        self._start_mfa_setup(sealed_totp_secret=sealed_totp_secret)

    def enable_mfa(self) -> None:
        """Turn MFA on (the caller checked a code against the pending secret)."""
        if self.mfa_enabled or self.sealed_totp_secret is None:
            raise MfaNotPending(self.id)
        self._enable_mfa()

    def disable_mfa(self) -> None:
        """Turn MFA off (the caller checked a current code)."""
        if not self.mfa_enabled:
            raise MfaNotPending(self.id)
        self._disable_mfa()

    @event(MfaSetupStarted)
    def _start_mfa_setup(self, sealed_totp_secret: str) -> None:
        self.sealed_totp_secret = sealed_totp_secret

    @event(MfaEnabled)
    def _enable_mfa(self) -> None:
        self.mfa_enabled = True

    @event(MfaDisabled)
    def _disable_mfa(self) -> None:
        self.mfa_enabled = False
        self.sealed_totp_secret = None

    @event(RoleChanged)
    def _change_role(self, from_role: str, to_role: str) -> None:
        self.role = to_role

    @event(Deactivated)
    def _deactivate(self) -> None:
        self.active = False

    @event(Reactivated)
    def _reactivate(self) -> None:
        self.active = True

    @event(PasswordChanged)
    def _change_password(self, credential: str) -> None:
        self.credential = credential

    @event(ProfileUpdated)
    def _update_profile(self, changes: dict[str, str]) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    @classmethod
    def register(
        cls, username: str, name: str, lastname: str, credential: str, email: str | None = None
    ) -> User:
        """Check the profile and create the user; ``credential`` is already sealed by the caller."""
        normalise_username(username)
        if email is not None:
            normalise_email(email)
        return cls._create(
            cls.Created,
            username=username.strip(),
            email=None if email is None else email.strip(),
            name=bounded_text("name", name, max_length=PERSON_NAME_MAX, required=False),
            lastname=bounded_text("lastname", lastname, max_length=PERSON_NAME_MAX, required=False),
            credential=bounded_text("credential", credential, max_length=4096),
        )


class Username(Aggregate):
    """The claim of one username by one user: its id is derived from the name, so it is unique."""

    TOPIC = "username"

    class Created(Aggregate.Created):
        """Wire type ``username.claimed``."""

        TOPIC = "username.claimed"
        username: str
        user_id: UUID

    @staticmethod
    def create_id(username: str) -> UUID:
        """The id of the claim for ``username`` (case-insensitive)."""
        return uuid5(USERNAME_NAMESPACE, normalise_username(username))

    @classmethod
    def claim(cls, username: str, user_id: UUID) -> Username:
        """Claim ``username`` for ``user_id``; a second claim of the same name collides."""
        return cls._create(cls.Created, username=username, user_id=user_id)

    def __init__(self, username: str, user_id: UUID) -> None:
        self.username = username
        self.user_id = user_id


class EmailClaim(Aggregate):
    """The claim of one email address by one user: its id is derived from the address."""

    TOPIC = "email"

    class Created(Aggregate.Created):
        """Wire type ``email.claimed``."""

        TOPIC = "email.claimed"
        user_id: UUID

    @staticmethod
    def create_id(email: str) -> UUID:
        """The id of the claim for ``email`` (case-insensitive)."""
        return uuid5(EMAIL_NAMESPACE, normalise_email(email))

    @classmethod
    def claim(cls, email: str, user_id: UUID) -> EmailClaim:
        """Claim ``email`` for ``user_id``; a second claim of the same address collides."""
        return cls._create(cls.Created, id=cls.create_id(email), user_id=user_id)

    def __init__(self, user_id: UUID) -> None:
        self.user_id = user_id


class AdminSeat(Aggregate):
    """Claimed once, by the first user ever registered, who becomes admin (race-safe: fixed id)."""

    TOPIC = "admin_seat"
    ID = UUID("9f1f8a52-4d0e-4a5e-8c1b-6a8f0e2d7c33")

    class Created(Aggregate.Created):
        """Wire type ``admin_seat.claimed``."""

        TOPIC = "admin_seat.claimed"
        user_id: UUID

    def __init__(self, user_id: UUID) -> None:
        self.user_id = user_id

    @classmethod
    def claim(cls, user_id: UUID) -> AdminSeat:
        """The first registration's claim; a second claim collides on version 1."""
        return cls._create(cls.Created, id=cls.ID, user_id=user_id)
