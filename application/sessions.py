"""Session commands of the Ledger: refresh tokens that rotate, reuse detection, logout."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from application.accounts import AccountCommands
from application.context import CommandContext
from application.error import InvalidToken
from application.handlers import Handlers
from application.reactor import Reaction, Reactor, reacts_to
from domain.session import Session, SessionNotFound
from domain.user import User, UserNotFound

if TYPE_CHECKING:
    from application.ledger import Ledger

REFRESH_TTL = timedelta(days=14)


class SessionIndex(Protocol):
    """Port: the live sessions of a user (a read model)."""

    def live_sessions(self, user_id: UUID) -> list[UUID]: ...


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class SessionCommands(Handlers):
    """The handlers of sessions (refresh tokens, logout)."""

    def start_session(self, context: CommandContext, user: User) -> tuple[Session, str]:
        """A new session for an authenticated user and its first refresh token (shown once)."""
        secret = secrets.token_urlsafe(32)
        session = Session.start(user.id, _hash(secret), datetime.now(UTC) + REFRESH_TTL)
        self._commit(context, session)
        return session, f"{session.id}.{secret}"

    def refresh_session(
        self, context: CommandContext, refresh_token: str
    ) -> tuple[Session, str, User]:
        """Rotate a refresh token. Presenting one that was already rotated away means it was
        stolen or replayed: the whole session (every token of the family) is revoked."""
        session = self._session_of(refresh_token)
        digest = _hash(refresh_token.partition(".")[2])
        if session.was_used(digest):
            session.revoke("refresh token reused")
            self._commit(context, session)
            raise InvalidToken()
        if not (
            hmac.compare_digest(digest, session.refresh_hash)
            and session.is_current(digest, datetime.now(UTC))
        ):
            raise InvalidToken()
        try:
            user = self.ledger[AccountCommands].get_user(session.user_id)
        except UserNotFound:
            raise InvalidToken() from None
        if not user.active:
            raise InvalidToken()
        secret = secrets.token_urlsafe(32)
        session.rotate(_hash(secret), datetime.now(UTC) + REFRESH_TTL)
        self._commit(context, session)
        return session, f"{session.id}.{secret}", user

    def end_session(self, context: CommandContext, user_id: UUID, session_id: UUID) -> int:
        """Log out: revoke the user's session; returns the position that recorded it."""
        session: Session = self._load(Session, session_id, SessionNotFound)
        if session.user_id != user_id:
            raise SessionNotFound(session_id)
        session.revoke("logout")
        return self._commit(context, session)

    def end_other_sessions(
        self, context: CommandContext, user_id: UUID, keep: UUID | None, index: SessionIndex
    ) -> int:
        """Revoke every live session of the user but ``keep`` (after a password change)."""
        sessions = [
            self._load(Session, sid, SessionNotFound)
            for sid in index.live_sessions(user_id)
            if sid != keep
        ]
        for session in sessions:
            session.revoke("password changed")
        return self._commit(context, *sessions) if sessions else 0

    def _session_of(self, refresh_token: str) -> Session:
        session_id, _, secret = refresh_token.partition(".")
        try:
            session: Session = self._load(Session, UUID(session_id), SessionNotFound)
        except (ValueError, SessionNotFound):
            raise InvalidToken() from None
        if not secret:
            raise InvalidToken()
        return session


class DeactivationEndsSessions(Reactor):
    """When a user is deactivated, their live sessions end: reactivating the account later does
    not bring old refresh or access tokens back to life."""

    name = "deactivation-ends-sessions"
    needs = ("sessions",)  # the sessions read model must have seen the user's sessions

    def __init__(self, ledger: Ledger, index: SessionIndex) -> None:
        super().__init__(ledger)
        self._index = index

    @reacts_to(User.Deactivated)
    def when_user_deactivated_end_sessions(self, event: Any, reaction: Reaction) -> None:
        """Revoke every live session of the user (revoking a revoked one records nothing)."""
        sessions = [
            self.ledger.load(Session, sid, SessionNotFound)
            for sid in self._index.live_sessions(event.originator_id)
        ]
        for session in sessions:
            session.revoke("user deactivated")
        if sessions:
            self.ledger.commit(reaction.context, *sessions)
