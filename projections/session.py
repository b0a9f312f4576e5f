"""The sessions read model: which sessions are live (never a refresh secret or its hash)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from domain.session import Session
from projections.table import RevocableProjection


class SessionProjection(RevocableProjection):
    """Projects session events into ``<table>``."""

    key, created, revoked = "session_id", Session.Created, Session.Revoked

    topics: tuple[str, ...] = (Session.Created.TOPIC, Session.Revoked.TOPIC)

    def __init__(self, table: str = "sessions", name: str | None = None) -> None:
        super().__init__(table, name)

    def create_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """Create the sessions table."""
        self._create(
            cur,
            "session_id uuid PRIMARY KEY, user_id uuid NOT NULL,"
            " revoked boolean NOT NULL DEFAULT false, started_at timestamptz NOT NULL,"
            " position bigint NOT NULL",
            "user_id, revoked",
        )

    def _row(self, e: Session.Created, position: int) -> dict[str, Any]:
        return {
            "session_id": e.originator_id,
            "user_id": e.user_id,
            "started_at": e.timestamp,
            "position": position,
        }


class SessionQueries:
    """Queries on the sessions table."""

    def __init__(self, pool: ConnectionPool[Any], table: str = "sessions") -> None:
        self._pool = pool
        self._t = sql.Identifier(table)
        self.name = table  # the read model a query waits for (read-your-writes)

    def state(self, session_id: UUID) -> tuple[UUID, bool] | None:
        """The session's user and whether it is revoked; None when the read model does not know
        it yet."""
        query = sql.SQL("SELECT user_id, revoked FROM {} WHERE session_id = %s").format(self._t)
        with self._pool.connection() as conn:
            row = conn.execute(query, (session_id,)).fetchone()
        return (row[0], bool(row[1])) if row else None

    def revoked_among(self, session_ids: list[UUID]) -> set[UUID]:
        """Which of ``session_ids`` are revoked (one query, for the open WebSockets)."""
        query = sql.SQL("SELECT session_id FROM {} WHERE session_id = ANY(%s) AND revoked")
        with self._pool.connection() as conn:
            return {row[0] for row in conn.execute(query.format(self._t), (session_ids,))}

    def live_sessions(self, user_id: UUID) -> list[UUID]:
        """The ids of the user's sessions that are not revoked."""
        query = sql.SQL("SELECT session_id FROM {} WHERE user_id = %s AND NOT revoked").format(
            self._t
        )
        with self._pool.connection() as conn:
            return [row[0] for row in conn.execute(query, (user_id,))]
