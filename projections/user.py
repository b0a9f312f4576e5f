"""The users read model: one row per registered user (never the credential)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from domain.user import User


class UserProjection:
    """Projects user events into ``<table>``."""

    topics: tuple[str, ...] = (User.Created.TOPIC,)

    def __init__(self, table: str = "users", name: str | None = None) -> None:
        self.table = table
        self.name = name or table
        self._t = sql.Identifier(table)

    def create_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """Create the users table."""
        cur.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                " user_id uuid PRIMARY KEY, username text NOT NULL UNIQUE, name text NOT NULL,"
                " lastname text NOT NULL, created_at timestamptz NOT NULL,"
                " version integer NOT NULL, position bigint NOT NULL)"
            ).format(self._t)
        )

    def drop_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """Drop the table (used when a rebuild is thrown away)."""
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._t))

    def apply(self, cur: psycopg.Cursor[Any], domain_event: Any, position: int) -> None:
        """Apply one user event."""
        if isinstance(domain_event, User.Created):
            e = domain_event
            cur.execute(
                sql.SQL(
                    "INSERT INTO {} (user_id, username, name, lastname, created_at, version,"
                    " position) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                ).format(self._t),
                (
                    e.originator_id,
                    e.username,
                    e.name,
                    e.lastname,
                    e.timestamp,
                    e.originator_version,
                    position,
                ),
            )
