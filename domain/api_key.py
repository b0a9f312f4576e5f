"""API keys: a user's long-lived credential limited to some scopes; only a hash is stored."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.error import InvalidValue, NotFound
from domain.value import bounded_text


class ApiKeyNotFound(NotFound):
    """No such API key, or not one of the actor's."""

    kind = "API key"


class ApiKey(Aggregate):
    """A key that acts for its user within its scopes until revoked or expired."""

    TOPIC = "api_key"

    class Created(Aggregate.Created):
        """Wire type ``api_key.created``."""

        TOPIC = "api_key.created"
        user_id: UUID
        name: str
        scopes: list[str]
        key_hash: str
        prefix: str
        expires_at: datetime | None

    class Revoked(Aggregate.Event):
        TOPIC = "api_key.revoked"

    def __init__(
        self,
        user_id: UUID,
        name: str,
        scopes: list[str],
        key_hash: str,
        prefix: str,
        expires_at: datetime | None,
    ) -> None:
        self.user_id = user_id
        self.name = name
        self.scopes = list(scopes)
        self.key_hash = key_hash
        self.prefix = prefix
        self.expires_at = expires_at
        self.revoked = False

    @classmethod
    def issue(
        cls,
        key_id: UUID,
        user_id: UUID,
        name: str,
        scopes: list[str],
        key_hash: str,
        prefix: str,
        expires_at: datetime | None,
        now: datetime,
        allowed: frozenset[str],
    ) -> ApiKey:
        """Check the name, scopes (each one of ``allowed``) and expiry, and record the key (its
        hash only)."""
        unknown = sorted(set(scopes) - allowed)
        if not scopes or unknown:
            names = ", ".join(sorted(allowed))
            raise InvalidValue("scopes", f"must be a non-empty list of: {names}")
        if expires_at is not None and (expires_at.tzinfo is None or expires_at <= now):
            raise InvalidValue("expires_at", "must be a future time with a time zone")
        return cls._create(
            cls.Created,
            id=key_id,
            user_id=user_id,
            name=bounded_text("name", name, max_length=100),
            scopes=sorted(set(scopes)),
            key_hash=key_hash,
            prefix=prefix,
            expires_at=expires_at,
        )

    def revoke(self) -> None:
        """Stop the key from working; idempotent."""
        if not self.revoked:
            self._revoke()

    @event(Revoked)
    def _revoke(self) -> None:
        self.revoked = True
