"""Turning a verified token into an active Principal with a role, cheaply and without staleness.

A token must name a session (``sid``) that exists and is not revoked (sessions read model, cached
the same way; a session the read model does not know yet is looked up in the event store).

Role and active state come from the users read model, cached in-process, so the hot path makes no
database lookup. The cache entry of a user is dropped when this instance changes that user, and the
whole cache when a commit changes rows of the users, sessions or API keys read model (every API
instance hears that NOTIFY; commits that only move their position do not count), so a
deactivation, a role change or a revocation takes effect everywhere as soon as the projection
applies it. A user the read model does not know yet
(registered a moment ago) is read from the event store.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from application.accounts import AccountCommands
from application.api_keys import key_matches, parse_key
from application.error import InvalidToken
from application.ledger import Ledger
from application.principal import Principal
from application.token import AccessClaims
from domain.api_key import ApiKey
from domain.session import Session
from domain.user import UserNotFound
from projections.api_key import ApiKeyQueries
from projections.session import SessionQueries
from projections.user import UserQueries
from projections.watch import PositionWatch


class Principals:
    """Role and active state per user id, cached and invalidated by identity changes."""

    def __init__(
        self,
        users: UserQueries,
        sessions: SessionQueries,
        keys: ApiKeyQueries,
        ledger: Ledger,
        watch: PositionWatch,
    ) -> None:
        self._users = users
        self._sessions = sessions
        self._keys = keys
        self._key_rows: dict[UUID, dict[str, Any]] = {}
        self._ledger = ledger
        self._cache: dict[UUID, tuple[str, bool]] = {}
        self._revoked: dict[UUID, tuple[UUID, bool]] = {}  # session id: (its user, revoked)
        self._lock = threading.Lock()
        self._projections = (users.name, sessions.name, keys.name)
        watch.add_listener(self._on_projection)

    def cached(self, claims: AccessClaims) -> Principal | None:
        """The principal if everything about it is cached (no I/O); None otherwise."""
        sid = claims.session_id
        if sid is None:  # every token the API issues names its session
            raise InvalidToken()
        with self._lock:
            known = self._cache.get(claims.user_id)
            session = self._revoked.get(sid)
        if known is None or session is None:
            return None
        if session != (claims.user_id, False):  # revoked, or another user's session
            raise InvalidToken()
        return self._principal(claims.user_id, known)

    def load(self, claims: AccessClaims) -> Principal:
        """The principal from the read models (or the event store); 401 if revoked or inactive."""
        sid = claims.session_id
        if sid is None:
            raise InvalidToken()
        # Unknown to the read model: just started (it is behind), or it never existed.
        session = self._sessions.state(sid) or self._session_in_store(sid)
        with self._lock:
            self._revoked[sid] = session
        if session != (claims.user_id, False):  # revoked, or another user's session
            raise InvalidToken()
        return self._load_user(claims.user_id)

    def _session_in_store(self, session_id: UUID) -> tuple[UUID, bool]:
        try:
            session: Any = self._ledger.repository.get(session_id)
        except AggregateNotFoundError:
            raise InvalidToken() from None
        if not isinstance(session, Session):
            raise InvalidToken()
        return session.user_id, bool(session.revoked)

    def load_key(self, presented: str) -> Principal:
        """The principal an API key acts as (its user, limited to its scopes); 401 otherwise."""
        key_id, secret = parse_key(presented)
        with self._lock:
            row = self._key_rows.get(key_id)
        if row is None:
            row = self._keys.lookup(key_id) or self._key_from_store(key_id)
            with self._lock:
                self._key_rows[key_id] = row
        expires = row["expires_at"]
        if (
            row["revoked"]
            or not key_matches(row["key_hash"], secret)
            or (expires is not None and expires <= datetime.now(UTC))
        ):
            raise InvalidToken()
        user = self._load_user(row["user_id"])
        return Principal(user.user_id, user.role, frozenset(row["scopes"]), row["rate_limit"])

    def forget_key(self, key_id: UUID) -> None:
        """Drop one key's cached state (after this instance revoked it)."""
        with self._lock:
            self._key_rows.pop(key_id, None)

    def _key_from_store(self, key_id: UUID) -> dict[str, Any]:
        try:
            key: ApiKey = self._ledger.repository.get(key_id)
        except AggregateNotFoundError:
            raise InvalidToken() from None
        if not isinstance(key, ApiKey):
            raise InvalidToken()
        return {
            "user_id": key.user_id,
            "key_hash": key.key_hash,
            "scopes": key.scopes,
            "expires_at": key.expires_at,
            "revoked": key.revoked,
            "rate_limit": key.rate_limit,
        }

    def _load_user(self, user_id: UUID) -> Principal:
        state = self._users.access(user_id)
        if state is None:
            try:
                user = self._ledger[AccountCommands].get_user(user_id)
            except UserNotFound:
                raise InvalidToken() from None
            state = (user.role, user.active)
        with self._lock:
            self._cache[user_id] = state
        return self._principal(user_id, state)

    def forget(self, user_id: UUID) -> None:
        """Drop one user's cached state (after this instance changed it)."""
        with self._lock:
            self._cache.pop(user_id, None)

    def forget_session(self, session_id: UUID) -> None:
        """Drop one session's cached state (after this instance revoked it)."""
        with self._lock:
            self._revoked.pop(session_id, None)

    def _on_projection(self, changed: set[str]) -> None:
        if "*" in changed or not changed.isdisjoint(self._projections):
            with self._lock:
                self._cache.clear()
                self._revoked.clear()
                self._key_rows.clear()

    @staticmethod
    def _principal(user_id: UUID, state: tuple[str, bool]) -> Principal:
        role, active = state
        if not active:
            raise InvalidToken()
        return Principal(user_id, role)
