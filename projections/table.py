"""What every read-model projection shares: its table name, tracking name and drop."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from projections.row_batch import Change, Insert, Set, write_changes


class TableProjection:
    """A projection that owns one table (``table``, primary key ``key``), tracked under ``name``.

    Subclasses say what one event does to a row (``change_of``); ``apply_batch`` then applies a
    whole batch in a few statements (``projections/row_batch.py``), with the rows ``apply`` gives.
    """

    key: str

    def __init__(self, table: str, name: str | None = None) -> None:
        self.table = table
        self.name = name or table
        self._t = sql.Identifier(table)

    def drop_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """Drop the table (used when a rebuild is thrown away)."""
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._t))

    def apply_batch(self, cur: psycopg.Cursor[Any], events: list[tuple[int, Any]]) -> None:
        """Apply ``(position, event)`` pairs in order, folded per row into a few statements."""
        write_changes(cur, self._t, self.key, (self.change_of(e, p) for p, e in events))

    def change_of(self, e: Any, position: int) -> Change | None:
        """What one event does to its row (None: nothing)."""
        raise NotImplementedError

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


class RevocableProjection(TableProjection):
    """Rows that one event type creates and another marks revoked (sessions, API keys)."""

    created: type[Any]
    revoked: type[Any]

    def apply(self, cur: psycopg.Cursor[Any], domain_event: Any, position: int) -> None:
        """Apply one event."""
        e = domain_event
        if isinstance(e, self.created):
            insert_row(cur, self._t, self._row(e, position))
        elif isinstance(e, self.revoked):
            self._revoke(cur, self.key, e.originator_id, position)

    def change_of(self, e: Any, position: int) -> Change | None:
        """What one event does to its row."""
        if isinstance(e, self.created):
            return Insert(e.originator_id, self._row(e, position))
        if isinstance(e, self.revoked):
            return Set(e.originator_id, {"revoked": True, "position": position})
        return None

    def _row(self, e: Any, position: int) -> dict[str, Any]:
        raise NotImplementedError


def add_missing_columns(cur: psycopg.Cursor[Any], table: str, columns: dict[str, str]) -> None:
    """Add the ``columns`` (name: SQL type) a table made before them lacks. Only missing ones are
    altered: ALTER TABLE locks the table even when it changes nothing."""
    present = {
        row[0]
        for row in cur.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = %s",
            (table,),
        ).fetchall()
    }
    for name, kind in columns.items():
        if name not in present:
            statement = "ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} " + kind
            cur.execute(sql.SQL(statement).format(sql.Identifier(table), sql.Identifier(name)))


def insert_row(cur: psycopg.Cursor[Any], table: sql.Identifier, values: dict[str, Any]) -> None:
    """Insert one row given as a column -> value mapping."""
    cur.execute(
        sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            table,
            sql.SQL(", ").join(map(sql.Identifier, values)),
            sql.SQL(", ").join(sql.Placeholder() * len(values)),
        ),
        tuple(values.values()),
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


def stream_rows(
    pool: ConnectionPool[Any],
    table: sql.Identifier,
    columns: Sequence[str],
    owner_id: UUID | None,
    order: Sequence[str],
) -> Iterator[tuple[Any, ...]]:
    """The ``columns`` of every row of the owner (of everyone when None) in ``order``, read
    through a server-side cursor so memory stays flat however many there are (exports)."""
    wanted = sql.SQL(", ").join(map(sql.Identifier, columns))
    mine = sql.SQL("WHERE owner_id = %s" if owner_id else "")
    by = sql.SQL(", ").join(map(sql.Identifier, order))
    query = sql.SQL("SELECT {} FROM {} {} ORDER BY {}").format(wanted, table, mine, by)
    with pool.connection() as conn, conn.transaction(), conn.cursor(name="export") as cur:
        cur.itersize = 2000
        cur.execute(query, [owner_id] if owner_id else [])
        yield from cur
