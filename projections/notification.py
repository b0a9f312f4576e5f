"""The notifications read model: one row per notification of a user's inbox, its queries, and
the users read model's answer to the notifier (the active users of some roles)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from domain.notification import Notification
from projections.envelope import jsonable
from projections.row_batch import Change, Insert, stamped
from projections.table import TableProjection, page_of

COLUMNS = (
    "notification_id uuid PRIMARY KEY, recipient_id uuid NOT NULL, type text NOT NULL,"
    " title text NOT NULL, body text NOT NULL, subject jsonb NOT NULL, read_at timestamptz,"
    " created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,"
    " version integer NOT NULL, position bigint NOT NULL"
)
PUBLIC = ("notification_id", "type", "title", "body", "subject", "read_at", "created_at")


class NotificationProjection(TableProjection):
    """Projects notification events into ``<table>`` (``notifications`` unless rebuilding)."""

    key = "notification_id"
    topics: tuple[str, ...] = (str(Notification.Created.TOPIC), str(Notification.Read.TOPIC))

    def __init__(self, table: str = "notifications", name: str | None = None) -> None:
        super().__init__(table, name)

    def create_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """Create the table and the inbox's index."""
        self._create(cur, COLUMNS, "recipient_id, created_at DESC, notification_id")

    def apply(self, cur: psycopg.Cursor[Any], domain_event: Any, position: int) -> None:
        """Apply one notification event."""
        self.apply_batch(cur, [(position, domain_event)])

    def change_of(self, e: Any, position: int) -> Change | None:
        """What one event does to its notification's row."""
        if isinstance(e, Notification.Created):
            row = {
                "notification_id": e.originator_id,
                "recipient_id": e.recipient_id,
                "type": e.kind,
                "title": e.title,
                "body": e.body,
                "subject": Jsonb(jsonable(e.subject)),
                "read_at": None,
                "created_at": e.timestamp,
                "updated_at": e.timestamp,
                "version": e.originator_version,
                "position": position,
            }
            return Insert(e.originator_id, row)
        if isinstance(e, Notification.Read):
            return stamped(e, position, {"read_at": e.timestamp})
        return None


class NotificationQueries:
    """Queries on a user's inbox."""

    def __init__(self, pool: ConnectionPool[Any], table: str = "notifications") -> None:
        self._pool = pool
        self._t = sql.Identifier(table)
        self.name = table

    def page(
        self, user_id: UUID, unread_only: bool, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        """The user's notifications, newest first."""
        condition = sql.SQL("recipient_id = %s" + (" AND read_at IS NULL" if unread_only else ""))
        columns = sql.SQL(", ").join(map(sql.Identifier, PUBLIC))
        query = sql.SQL(
            "SELECT {}, count(*) OVER () AS total FROM {} WHERE {}"
            " ORDER BY created_at DESC, notification_id LIMIT %s OFFSET %s"
        ).format(columns, self._t, condition)
        count = sql.SQL("SELECT count(*) FROM {} WHERE {}").format(self._t, condition)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            return page_of(cur, query, count, [user_id], limit, offset)

    def unread_count(self, user_id: UUID) -> int:
        """How many of the user's notifications are unread."""
        query = sql.SQL(
            "SELECT count(*) FROM {} WHERE recipient_id = %s AND read_at IS NULL"
        ).format(self._t)
        with self._pool.connection() as conn:
            found = conn.execute(query, (user_id,)).fetchone()
        return int(found[0]) if found else 0

    def unread_ids(self, user_id: UUID) -> list[UUID]:
        """The ids of the user's unread notifications."""
        query = sql.SQL(
            "SELECT notification_id FROM {} WHERE recipient_id = %s AND read_at IS NULL"
        ).format(self._t)
        with self._pool.connection() as conn:
            return [row[0] for row in conn.execute(query, (user_id,))]

    def get(self, user_id: UUID, notification_id: UUID) -> dict[str, Any] | None:
        """One of the user's notifications, or None."""
        columns = sql.SQL(", ").join(map(sql.Identifier, PUBLIC))
        query = sql.SQL("SELECT {} FROM {} WHERE notification_id = %s AND recipient_id = %s")
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            row: dict[str, Any] | None = cur.execute(
                query.format(columns, self._t), (notification_id, user_id)
            ).fetchone()
        return row


class ApproverDirectory:
    """The active users of some roles, from the users read model (the notifier's directory)."""

    def __init__(self, pool: ConnectionPool[Any], table: str = "users") -> None:
        self._pool = pool
        self._t = sql.Identifier(table)
        self.name = table

    def active_with_roles(self, roles: Iterable[str]) -> list[UUID]:
        """The ids of the active users whose role is one of ``roles``."""
        query = sql.SQL("SELECT user_id FROM {} WHERE active AND role = ANY(%s) ORDER BY 1")
        with self._pool.connection() as conn:
            return [row[0] for row in conn.execute(query.format(self._t), (list(roles),))]
