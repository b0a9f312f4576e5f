"""API keys: a user's long-lived credential limited to some scopes; only a hash is stored."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.error import InvalidValue, NotFound
from domain.value import bounded_text

RATE = re.compile(r"([0-9]{1,9})\s*(?:/|per)\s*(second|minute|hour|day)s?")
UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86_400}


def key_rate(text: str) -> str:
    """A key's own rate limit in its one spelling, ``<n>/<unit>`` (``10/minute``);
    ``InvalidValue`` unless it is a positive count per second, minute, hour or day."""
    found = RATE.fullmatch(text.strip().lower())
    if found is None or int(found[1]) < 1:
        raise InvalidValue("rate_limit", "must be a positive count per unit, e.g. 10/minute")
    return f"{int(found[1])}/{found[2]}"


def per_second(rate: str) -> float:
    """How many requests a second a canonical ``<n>/<unit>`` rate allows on average."""
    count, unit = rate.split("/")
    return int(count) / UNIT_SECONDS[unit]


class ApiKeyNotFound(NotFound):
    """No such API key, or not one of the actor's."""

    kind = "API key"


class ApiKey(Aggregate):
    """A key that acts for its user within its scopes until revoked or expired."""

    TOPIC = "api_key"

    class Created(Aggregate.Created):
        """Wire type ``api_key.created``."""

        TOPIC = "api_key.created"
        class_version = 2
        user_id: UUID
        name: str
        scopes: list[str]
        key_hash: str
        prefix: str
        expires_at: datetime | None
        rate_limit: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """v1 keys had no limit of their own: they spend only their user's budget."""
            state["rate_limit"] = None

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
        rate_limit: str | None,
    ) -> None:
        self.user_id = user_id
        self.name = name
        self.scopes = list(scopes)
        self.key_hash = key_hash
        self.prefix = prefix
        self.expires_at = expires_at
        self.rate_limit = rate_limit
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
        rate_limit: str | None = None,
        max_per_second: float | None = None,
    ) -> ApiKey:
        """Check the name, scopes (each one of ``allowed``), expiry and own rate limit (never
        more requests a second than ``max_per_second``, its user's), and record the key (its
        hash only)."""
        unknown = sorted(set(scopes) - allowed)
        if not scopes or unknown:
            names = ", ".join(sorted(allowed))
            raise InvalidValue("scopes", f"must be a non-empty list of: {names}")
        if expires_at is not None and (expires_at.tzinfo is None or expires_at <= now):
            raise InvalidValue("expires_at", "must be a future time with a time zone")
        rate = None if rate_limit is None else key_rate(rate_limit)
        if rate is not None and max_per_second is not None and per_second(rate) > max_per_second:
            raise InvalidValue("rate_limit", "must not allow more requests than its user's limit")
        return cls._create(
            cls.Created,
            id=key_id,
            user_id=user_id,
            name=bounded_text("name", name, max_length=100),
            scopes=sorted(set(scopes)),
            key_hash=key_hash,
            prefix=prefix,
            expires_at=expires_at,
            rate_limit=rate,
        )

    def revoke(self) -> None:
        """Stop the key from working; idempotent."""
        if not self.revoked:
            self._revoke()

    @event(Revoked)
    def _revoke(self) -> None:
        self.revoked = True
