"""The sessions read model: which sessions are live (never a refresh secret or its hash)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from domain.session import Session
from projections.row_batch import Change, Set
from projections.table import RevocableProjection, page_of


class SessionProjection(RevocableProjection):
    """Projects session events into ``<table>``."""

    key, created, revoked = "session_id", Session.Created, Session.Revoked

    topics: tuple[str, ...] = (
        Session.Created.TOPIC,
        Session.Refreshed.TOPIC,
        Session.Revoked.TOPIC,
    )

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
        # Added for 002's session list; tables made before them gain the columns.
        cur.execute(
            sql.SQL(
                "ALTER TABLE {} ADD COLUMN IF NOT EXISTS expires_at timestamptz,"
                " ADD COLUMN IF NOT EXISTS last_refreshed_at timestamptz"
            ).format(self._t)
        )

    def apply(self, cur: psycopg.Cursor[Any], domain_event: Any, position: int) -> None:
        """Apply one session event."""
        if isinstance(domain_event, Session.Refreshed):
            cur.execute(
                sql.SQL(
                    "UPDATE {} SET expires_at = %s, last_refreshed_at = %s, position = %s"
                    " WHERE session_id = %s"
                ).format(self._t),
                (*self._refreshed(domain_event).values(), position, domain_event.originator_id),
            )
        else:
            super().apply(cur, domain_event, position)

    def change_of(self, e: Any, position: int) -> Change | None:
        """What one event does to its session's row."""
        if isinstance(e, Session.Refreshed):
            return Set(e.originator_id, {**self._refreshed(e), "position": position})
        return super().change_of(e, position)

    @staticmethod
    def _refreshed(e: Session.Refreshed) -> dict[str, Any]:
        return {"expires_at": e.expires_at, "last_refreshed_at": e.timestamp}

    def _row(self, e: Session.Created, position: int) -> dict[str, Any]:
        return {
            "session_id": e.originator_id,
            "user_id": e.user_id,
            "started_at": e.timestamp,
            "expires_at": e.expires_at,
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

    def active(self, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """Sessions not revoked nor expired, newest first, with their user's name (admins)."""
        query = sql.SQL(
            "SELECT s.session_id, s.user_id, u.username, s.started_at AS created_at,"
            " s.expires_at, s.last_refreshed_at, count(*) OVER () AS total"
            " FROM {} s LEFT JOIN users u ON u.user_id = s.user_id"
            " WHERE NOT s.revoked AND (s.expires_at IS NULL OR s.expires_at > now())"
            " ORDER BY s.started_at DESC, s.session_id LIMIT %s OFFSET %s"
        ).format(self._t)
        count = sql.SQL(
            "SELECT count(*) FROM {} s WHERE NOT s.revoked"
            " AND (s.expires_at IS NULL OR s.expires_at > now())"
        ).format(self._t)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            return page_of(cur, query, count, [], limit, offset)
