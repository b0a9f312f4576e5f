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


def update_row(
    cur: psycopg.Cursor[Any],
    table: sql.Identifier,
    key: str,
    event: Any,
    position: int,
    values: dict[str, Any],
) -> None:
    """Set ``values`` on the row of the event's aggregate, with its time, version and position."""
    values = {
        **values,
        "updated_at": event.timestamp,
        "version": event.originator_version,
        "position": position,
    }
    assignments = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in values)
    cur.execute(
        sql.SQL("UPDATE {} SET {} WHERE {} = %s").format(table, assignments, sql.Identifier(key)),
        (*values.values(), event.originator_id),
    )


def page_of(
    cur: psycopg.Cursor[Any],
    query: sql.Composed,
    count: sql.Composed,
    params: list[Any],
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """Rows of ``query`` (which selects ``count(*) OVER () AS total``) and the total; past the
    last page the total comes from ``count``."""
    rows: list[dict[str, Any]] = cur.execute(query, (*params, limit, offset)).fetchall()
    if rows:
        total = int(rows[0]["total"])
    elif offset == 0:
        total = 0
    else:
        found = cur.execute(count, params).fetchone()
        total = int(found["count"]) if found else 0
    for row in rows:
        del row["total"]
    return rows, total
