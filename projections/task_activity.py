"""The task activity read model: per user and UTC day, tasks created, completed and failed.

The analytics endpoints read it instead of the event log: a day's numbers are one row, so a
7-day overview reads at most 7 rows per user. A task's owner and creation time are remembered in
``task_facts`` because later events (a status change) name neither. A task completed, reopened
and completed again counts twice: the numbers count transitions, as a timeline should.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from domain.task import Task

FINISHED = {"completed": "completed", "failed": "failed"}


class TaskActivityProjection:
    """Projects task creations and status changes into daily counts."""

    topics: tuple[str, ...] = (Task.Created.TOPIC, Task.StatusChanged.TOPIC)

    def __init__(self, table: str = "task_activity", name: str | None = None) -> None:
        self.table = table
        self.name = name or table
        self._t = sql.Identifier(table)
        self._facts = sql.Identifier(f"{table}_facts")

    def create_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """The daily counts and the facts a status change needs."""
        cur.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (owner_id uuid NOT NULL, day date NOT NULL,"
                " created integer NOT NULL DEFAULT 0, completed integer NOT NULL DEFAULT 0,"
                " failed integer NOT NULL DEFAULT 0,"
                " completion_seconds double precision NOT NULL DEFAULT 0,"
                " PRIMARY KEY (owner_id, day))"
            ).format(self._t)
        )
        cur.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (task_id uuid PRIMARY KEY, owner_id uuid NOT NULL,"
                " created_at timestamptz NOT NULL)"
            ).format(self._facts)
        )

    def drop_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """Drop both tables (a rebuild thrown away)."""
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}, {}").format(self._t, self._facts))

    def apply(self, cur: psycopg.Cursor[Any], e: Any, position: int) -> None:
        """Count one event on its day."""
        if isinstance(e, Task.Created):
            cur.execute(
                sql.SQL("INSERT INTO {} VALUES (%s, %s, %s) ON CONFLICT DO NOTHING").format(
                    self._facts
                ),
                (e.originator_id, e.owner_id, e.timestamp),
            )
            self._count(cur, e.owner_id, e.timestamp, "created", 0.0)
        elif isinstance(e, Task.StatusChanged) and e.to_status in FINISHED:
            row = cur.execute(
                sql.SQL("SELECT owner_id, created_at FROM {} WHERE task_id = %s").format(
                    self._facts
                ),
                (e.originator_id,),
            ).fetchone()
            if row is not None:
                seconds = (e.timestamp - row[1]).total_seconds()
                self._count(cur, row[0], e.timestamp, FINISHED[e.to_status], seconds)

    def _count(
        self, cur: psycopg.Cursor[Any], owner: UUID, at: datetime, column: str, seconds: float
    ) -> None:
        took = seconds if column == "completed" else 0.0
        cur.execute(
            sql.SQL(
                "INSERT INTO {t} AS a (owner_id, day, {c}, completion_seconds)"
                " VALUES (%s, (%s AT TIME ZONE 'UTC')::date, 1, %s)"
                " ON CONFLICT (owner_id, day) DO UPDATE SET {c} = a.{c} + 1,"
                " completion_seconds = a.completion_seconds + EXCLUDED.completion_seconds"
            ).format(t=self._t, c=sql.Identifier(column)),
            (owner, at, took),
        )


class TaskActivityQueries:
    """Daily task numbers of one user, or of everyone (``owner_id=None``, admins)."""

    def __init__(self, pool: ConnectionPool[Any], table: str = "task_activity") -> None:
        self._pool = pool
        self._t = sql.Identifier(table)
        self.name = table

    def timeline(self, owner_id: UUID | None, first: date, last: date) -> list[dict[str, Any]]:
        """One point per UTC day from ``first`` to ``last``, days without activity as zeros."""
        mine = sql.SQL("AND a.owner_id = %s" if owner_id else "")
        query = sql.SQL(
            "SELECT d::date AS date, COALESCE(sum(a.created), 0)::int AS created,"
            " COALESCE(sum(a.completed), 0)::int AS completed,"
            " COALESCE(sum(a.failed), 0)::int AS failed,"
            " COALESCE(sum(a.completion_seconds), 0)::float AS completion_seconds"
            " FROM generate_series(%s::date, %s::date, interval '1 day') AS d"
            " LEFT JOIN {} a ON a.day = d::date {} GROUP BY d ORDER BY d"
        ).format(self._t, mine)
        params: list[Any] = [first, last, *([owner_id] if owner_id else [])]
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            rows: list[dict[str, Any]] = cur.execute(query, params).fetchall()
        return rows

    def totals(self, owner_id: UUID | None, first: date, last: date) -> dict[str, Any]:
        """The days' numbers added up, with the completion rate and average time to complete."""
        points = self.timeline(owner_id, first, last)
        created = sum(p["created"] for p in points)
        completed = sum(p["completed"] for p in points)
        seconds = sum(p["completion_seconds"] for p in points)
        return {
            "created": created,
            "completed": completed,
            "failed": sum(p["failed"] for p in points),
            "completion_rate": round(completed / created, 4) if created else 0.0,
            "avg_completion_seconds": round(seconds / completed, 3) if completed else None,
        }


def window(days: int, today: date) -> tuple[date, date]:
    """The first and last day of a ``days``-day window that ends today."""
    return today - timedelta(days=days - 1), today
