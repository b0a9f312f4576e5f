"""Who is acting, and what their role lets them do."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.error import NotAllowed
from domain.user import Role


@dataclass(frozen=True)
class Principal:
    """An authenticated, active user and their role."""

    user_id: UUID
    role: str
    scopes: frozenset[str] | None = None  # None: a user's own session; a set: an API key's
    rate_limit: str | None = None  # an API key's own limit (``10/minute``), besides its user's

    def require_scope(self, scope: str) -> None:
        """Refuse an API key that lacks ``scope`` (a session has every scope of its role)."""
        if self.scopes is not None and scope not in self.scopes:
            raise NotAllowed(f"This API key lacks the scope {scope}")

    @property
    def is_admin(self) -> bool:
        """Admins manage users."""
        return self.role == Role.ADMIN.value

    def require_admin(self) -> None:
        """Refuse unless the principal is an admin."""
        if not self.is_admin:
            raise NotAllowed("Only an admin may do this")

    def require_writer(self) -> None:
        """Refuse viewers: they may read but not change anything."""
        if self.role == Role.VIEWER.value:
            raise NotAllowed("A viewer may read but not change anything")
