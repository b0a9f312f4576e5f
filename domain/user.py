"""The User aggregate and the Username claim that keeps usernames unique."""

from __future__ import annotations

import re
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.error import Conflict, InvalidValue, NotFound
from domain.value import bounded_text

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{2,63}$")
PERSON_NAME_MAX = 100
USERNAME_NAMESPACE = UUID("6f6b2d1e-3c55-4d1b-9a8e-2f1c5d7b9e10")


class UserNotFound(NotFound):
    """No such user."""

    kind = "user"


class UsernameTaken(Conflict):
    """Another account already uses this username."""

    def __init__(self, username: str) -> None:
        super().__init__("Username already exists")
        self.username = username


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
        username: str
        name: str
        lastname: str
        credential: str

    def __init__(self, username: str, name: str, lastname: str, credential: str) -> None:
        self.username = username
        self.name = name
        self.lastname = lastname
        self.credential = credential

    @classmethod
    def register(cls, username: str, name: str, lastname: str, credential: str) -> User:
        """Check the profile and create the user; ``credential`` is already sealed by the caller."""
        normalise_username(username)
        return cls._create(
            cls.Created,
            username=username.strip(),
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
