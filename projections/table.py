"""What every read-model projection shares: its table name, tracking name and drop."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql


class TableProjection:
    """A projection that owns one table (``table``), tracked under ``name``."""

    def __init__(self, table: str, name: str | None = None) -> None:
        self.table = table
        self.name = name or table
        self._t = sql.Identifier(table)

    def drop_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """Drop the table (used when a rebuild is thrown away)."""
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._t))

    def _create(self, cur: psycopg.Cursor[Any], columns: str, index: str) -> None:
        """Create the table with ``columns`` and one index on ``index`` if they are missing."""
        cur.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (" + columns + ")").format(self._t))
        cur.execute(
            sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (" + index + ")").format(
                sql.Identifier(f"{self.table}_{index.split(maxsplit=1)[0].strip(',')}_idx"), self._t
            )
        )

    def _revoke(self, cur: psycopg.Cursor[Any], key: str, aggregate_id: Any, position: int) -> None:
        """Mark the row of ``aggregate_id`` revoked."""
        cur.execute(
            sql.SQL("UPDATE {} SET revoked = true, position = %s WHERE {} = %s").format(
                self._t, sql.Identifier(key)
            ),
            (position, aggregate_id),
        )
