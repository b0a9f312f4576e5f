"""A login session: the family of refresh tokens issued to one sign-in, and its revocation."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.error import NotFound


class SessionNotFound(NotFound):
    """No such session."""

    kind = "session"


class Session(Aggregate):
    """Holds only hashes of refresh secrets; a reused (already rotated) secret revokes it."""

    TOPIC = "session"

    class Created(Aggregate.Created):
        """Wire type ``session.started``."""

        TOPIC = "session.started"
        user_id: UUID
        refresh_hash: str
        expires_at: datetime

    class Refreshed(Aggregate.Event):
        TOPIC = "session.refreshed"
        refresh_hash: str
        expires_at: datetime

    class Revoked(Aggregate.Event):
        TOPIC = "session.revoked"
        reason: str

    def __init__(self, user_id: UUID, refresh_hash: str, expires_at: datetime) -> None:
        self.user_id = user_id
        self.refresh_hash = refresh_hash
        self.expires_at = expires_at
        self.used_hashes: list[str] = []
        self.revoked = False

    @classmethod
    def start(cls, user_id: UUID, refresh_hash: str, expires_at: datetime) -> Session:
        """A new session for ``user_id`` whose first refresh secret hashes to ``refresh_hash``."""
        return cls._create(
            cls.Created, user_id=user_id, refresh_hash=refresh_hash, expires_at=expires_at
        )

    def is_current(self, refresh_hash: str, now: datetime) -> bool:
        """True when ``refresh_hash`` is the live secret of a live session."""
        return not self.revoked and refresh_hash == self.refresh_hash and now < self.expires_at

    def was_used(self, refresh_hash: str) -> bool:
        """True when ``refresh_hash`` belongs to a secret already rotated away (a replay)."""
        return refresh_hash in self.used_hashes

    def rotate(self, refresh_hash: str, expires_at: datetime) -> None:
        """Replace the refresh secret (the caller presented the current one)."""
        self._rotate(refresh_hash=refresh_hash, expires_at=expires_at)

    def revoke(self, reason: str) -> None:
        """End the session: its refresh secret and access tokens stop working; idempotent."""
        if not self.revoked:
            self._revoke(reason=reason)

    @event(Refreshed)
    def _rotate(self, refresh_hash: str, expires_at: datetime) -> None:
        self.used_hashes = [*self.used_hashes, self.refresh_hash]
        self.refresh_hash = refresh_hash
        self.expires_at = expires_at

    @event(Revoked)
    def _revoke(self, reason: str) -> None:
        self.revoked = True
