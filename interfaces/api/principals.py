"""Turning a verified token into an active Principal with a role, cheaply and without staleness.

Role and active state come from the users read model, cached in-process. The cache entry of a user
is dropped when this instance changes that user, and the whole cache when the users projection
commits anything (every API instance hears that NOTIFY), so a deactivation or a role change takes
effect everywhere as soon as the projection applies it. A user the read model does not know yet
(registered a moment ago) is read from the event store.
"""

from __future__ import annotations

import threading
from uuid import UUID

from application.error import InvalidToken
from application.ledger import Ledger
from application.principal import Principal
from domain.user import UserNotFound
from projections.user import UserQueries
from projections.watch import PositionWatch


class Principals:
    """Role and active state per user id, cached and invalidated by identity changes."""

    def __init__(self, users: UserQueries, ledger: Ledger, watch: PositionWatch, name: str) -> None:
        self._users = users
        self._ledger = ledger
        self._cache: dict[UUID, tuple[str, bool]] = {}
        self._lock = threading.Lock()
        self._projection = name
        watch.add_listener(self._on_projection)

    def cached(self, user_id: UUID) -> Principal | None:
        """The principal if its state is cached (no I/O); None otherwise."""
        with self._lock:
            known = self._cache.get(user_id)
        return None if known is None else self._principal(user_id, known)

    def load(self, user_id: UUID) -> Principal:
        """The principal from the read model (or the event store); 401 if gone or inactive."""
        state = self._users.access(user_id)
        if state is None:
            try:
                user = self._ledger.get_user(user_id)
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

    def _on_projection(self, name: str, position: int) -> None:
        if name == self._projection:
            with self._lock:
                self._cache.clear()

    @staticmethod
    def _principal(user_id: UUID, state: tuple[str, bool]) -> Principal:
        role, active = state
        if not active:
            raise InvalidToken()
        return Principal(user_id, role)
