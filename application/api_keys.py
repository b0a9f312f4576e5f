"""API key commands of the Ledger, and how a presented key is checked."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from uuid import UUID

from application.context import CommandContext
from application.error import InvalidToken
from application.handlers import Handlers
from domain.api_key import ApiKey, ApiKeyNotFound
from domain.ids import new_id

if TYPE_CHECKING:
    from application.ledger import Ledger

KEY_PREFIX = "lf_"


def key_hash(secret: str) -> str:
    """The stored form of a key's secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_key(presented: str) -> tuple[UUID, str]:
    """The key id and secret of ``lf_<key id hex>_<secret>``; InvalidToken if malformed."""
    body = presented.removeprefix(KEY_PREFIX)
    key_id, _, secret = body.partition("_")
    try:
        return UUID(hex=key_id), secret
    except ValueError:
        raise InvalidToken() from None


def key_matches(stored_hash: str, secret: str) -> bool:
    """Timing-safe comparison of a presented secret with the stored hash."""
    return bool(secret) and hmac.compare_digest(stored_hash, key_hash(secret))


class ApiKeyCommands(Handlers):
    """The handlers of API keys: create and revoke. ``scopes`` are those a key may be given (the
    composition root derives them from the features); ``max_per_second`` is the users' own rate
    limit, which a key's may not exceed (None: not checked)."""

    def __init__(
        self,
        ledger: Ledger,
        scopes: frozenset[str] = frozenset(),
        max_per_second: float | None = None,
    ) -> None:
        super().__init__(ledger)
        self.scopes = scopes
        self.max_per_second = max_per_second

    def create_api_key(
        self,
        context: CommandContext,
        user_id: UUID,
        name: str,
        scopes: list[str],
        expires_at: datetime | None,
        rate_limit: str | None = None,
    ) -> tuple[ApiKey, str, int]:
        """A new key for the user (with its own ``rate_limit``, e.g. ``10/minute``, spent
        besides the user's); returns it, its full text (shown once) and the position."""
        key_id, secret = new_id(), secrets.token_urlsafe(32)
        text = f"{KEY_PREFIX}{key_id.hex}_{secret}"
        key = ApiKey.issue(
            key_id,
            user_id,
            name,
            scopes,
            key_hash(secret),
            text[:12],
            expires_at,
            datetime.now(UTC),
            self.scopes,
            rate_limit,
            self.max_per_second,
        )
        return key, text, self._commit(context, key)

    def revoke_api_key(self, context: CommandContext, user_id: UUID, key_id: UUID) -> int:
        """Revoke one of the user's keys; returns the position that recorded it."""
        key: ApiKey = self._load(ApiKey, key_id, ApiKeyNotFound)
        if key.user_id != user_id:
            raise ApiKeyNotFound(key_id)
        key.revoke()
        return self._commit(context, key)
