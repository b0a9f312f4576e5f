"""The users read model: one row per user with role and active state (never the credential)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from domain.user import User
from projections.row_batch import Change, Insert, stamped
from projections.table import TableProjection, insert_row, page_of, update_row

PUBLIC_COLUMNS = (
    "user_id, username, email, name, lastname, role, active, created_at, updated_at, version"
)


class UserProjection(TableProjection):
    """Projects user events into ``<table>``."""

    key = "user_id"

    topics: tuple[str, ...] = tuple(
        cls.TOPIC
        for cls in (
            User.Created,
            User.RoleChanged,
            User.Deactivated,
            User.Reactivated,
            User.ProfileUpdated,
            User.PasswordChanged,
        )
    )

    def __init__(self, table: str = "users", name: str | None = None) -> None:
        super().__init__(table, name)
        self._handlers: dict[type, Callable[[Any], dict[str, Any]]] = {
            User.RoleChanged: lambda e: {"role": e.to_role},
            User.Deactivated: lambda e: {"active": False},
            User.Reactivated: lambda e: {"active": True},
            User.ProfileUpdated: lambda e: dict(e.changes),
            User.PasswordChanged: lambda e: {},
        }

    def create_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """Create the users table and the indexes behind the admin list's filters."""
        cur.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                " user_id uuid PRIMARY KEY, username text NOT NULL UNIQUE, name text NOT NULL,"
                " lastname text NOT NULL, role text NOT NULL DEFAULT 'member',"
                " active boolean NOT NULL DEFAULT true, created_at timestamptz NOT NULL,"
                " updated_at timestamptz NOT NULL, version integer NOT NULL,"
                " position bigint NOT NULL)"
            ).format(self._t)
        )
        # Added with the email (v2 of user.registered); tables made before it gain the column.
        cur.execute(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS email text").format(self._t))
        cur.execute(
            sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (role, active, created_at)").format(
                sql.Identifier(f"{self.table}_role_active_idx"), self._t
            )
        )

    def apply(self, cur: psycopg.Cursor[Any], domain_event: Any, position: int) -> None:
        """Apply one user event."""
        e = domain_event
        if isinstance(e, User.Created):
            insert_row(cur, self._t, self._row(e, position))
            return
        handler = self._handlers.get(type(e))
        if handler is None:
            return
        update_row(cur, self._t, "user_id", e, position, handler(e))

    def change_of(self, e: Any, position: int) -> Change | None:
        """What one event does to its user's row."""
        if isinstance(e, User.Created):
            return Insert(e.originator_id, self._row(e, position))
        handler = self._handlers.get(type(e))
        if handler is None:
            return None
        return stamped(e, position, handler(e))

    @staticmethod
    def _row(e: User.Created, position: int) -> dict[str, Any]:
        return {
            "user_id": e.originator_id,
            "username": e.username,
            "email": e.email,
            "name": e.name,
            "lastname": e.lastname,
            "created_at": e.timestamp,
            "updated_at": e.timestamp,
            "version": e.originator_version,
            "position": position,
        }


@dataclass(frozen=True)
class UserPage:
    """One page of users and how many match in all."""

    users: list[dict[str, Any]]
    total: int


class UserQueries:
    """Queries on the users table."""

    def __init__(self, pool: ConnectionPool[Any], table: str = "users") -> None:
        self._pool = pool
        self._t = sql.Identifier(table)
        self.name = table  # the read model a query waits for (read-your-writes)

    def access(self, user_id: UUID) -> tuple[str, bool] | None:
        """The role and active flag of a user, or None when the read model does not know them."""
        query = sql.SQL("SELECT role, active FROM {} WHERE user_id = %s").format(self._t)
        with self._pool.connection() as conn:
            row = conn.execute(query, (user_id,)).fetchone()
        return (str(row[0]), bool(row[1])) if row else None

    def inactive_among(self, user_ids: list[UUID]) -> set[UUID]:
        """Which of ``user_ids`` are deactivated (one query, for the open WebSockets)."""
        query = sql.SQL("SELECT user_id FROM {} WHERE user_id = ANY(%s) AND NOT active")
        with self._pool.connection() as conn:
            return {row[0] for row in conn.execute(query.format(self._t), (user_ids,))}

    def list(
        self,
        role: str | None = None,
        active: bool | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> UserPage:
        """Users, oldest first, filtered by role and active state."""
        where: list[sql.Composable] = [sql.SQL("true")]
        params: list[Any] = []
        for column, value in (("role", role), ("active", active)):
            if value is not None:
                where.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
                params.append(value)
        condition = sql.SQL(" AND ").join(where)
        query = sql.SQL(
            "SELECT " + PUBLIC_COLUMNS + ", count(*) OVER () AS total FROM {} WHERE {}"  # noqa: S608
            " ORDER BY created_at, user_id LIMIT %s OFFSET %s"
        ).format(self._t, condition)
        count = sql.SQL("SELECT count(*) FROM {} WHERE {}").format(self._t, condition)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            rows, total = page_of(cur, query, count, params, limit, offset)
        return UserPage(rows, total)
