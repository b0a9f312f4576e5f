"""Closing the WebSockets whose credentials end: logout, a revoked session, a deactivated user.

Every API instance hears the projections' NOTIFY (``PositionWatch``). When a commit changes rows
of the sessions or the users read model, each instance checks its open sockets in two queries
(revoked sessions among theirs, deactivated users among theirs) and closes the affected ones
with 4401. Logout and deactivation answer once those read models have applied them, so by then every
instance is closing the sockets. Checks coalesce: commits during a check cause one more check.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol
from uuid import UUID

from projections.session import SessionQueries
from projections.user import UserQueries
from projections.watch import PositionWatch

log = logging.getLogger(__name__)


class Revocable(Protocol):
    """An open socket as this module sees it."""

    reader: UUID
    session_id: UUID | None

    def revoke(self, reason: str) -> None: ...


class SocketRevocation:
    """The open sockets of this process, closed when their session or user stops being valid."""

    def __init__(
        self,
        watch: PositionWatch,
        sessions: SessionQueries,
        users: UserQueries,
    ) -> None:
        self._sessions = sessions
        self._users = users
        self._projections = {sessions.name, users.name}
        self._open: set[Revocable] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queued = False
        self._tasks: set[asyncio.Task[None]] = set()
        watch.add_listener(self._on_commit)

    def add(self, socket: Revocable) -> None:
        """Watch ``socket`` (called on the event loop)."""
        self._loop = asyncio.get_running_loop()
        self._open.add(socket)

    def discard(self, socket: Revocable) -> None:
        """Stop watching ``socket``."""
        self._open.discard(socket)

    def _on_commit(self, changed: set[str]) -> None:  # in the watch thread
        loop = self._loop
        relevant = "*" in changed or not changed.isdisjoint(self._projections)
        if relevant and self._open and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._queue)

    def _queue(self) -> None:
        if self._queued:  # the queued check has not started: it will see this commit too
            return
        self._queued = True
        task = asyncio.create_task(self.check())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def check(self) -> None:
        """Close every open socket whose session is revoked or whose user is deactivated."""
        self._queued = False
        sockets = list(self._open)
        if not sockets:
            return
        sessions = [s.session_id for s in sockets if s.session_id is not None]
        readers = list({s.reader for s in sockets})
        try:
            revoked, inactive = await asyncio.to_thread(self._invalid, sessions, readers)
        except Exception as error:  # the next commit checks again
            log.warning("could not check the WebSockets' credentials: %s", error)
            return
        for socket in sockets:
            if socket.session_id in revoked or socket.reader in inactive:
                socket.revoke("the session ended or the user was deactivated")

    def _invalid(self, sessions: list[UUID], readers: list[UUID]) -> tuple[set[UUID], set[UUID]]:
        return self._sessions.revoked_among(sessions), self._users.inactive_among(readers)
