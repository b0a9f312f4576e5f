"""The task activity read model: per user and UTC day, tasks created, completed and failed.

The analytics endpoints read it instead of the event log: a day's numbers are one row, so a
7-day overview reads at most 7 rows per user. A task's owner and creation time are remembered in
``task_facts`` because later events (a status change) name neither. A task completed, reopened
and completed again counts twice: the numbers count transitions, as a timeline should.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
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
        self.apply_batch(cur, [(position, e)])

    def apply_batch(self, cur: psycopg.Cursor[Any], events: list[tuple[int, Any]]) -> None:
        """Count a batch: the facts it needs in one SELECT, its new facts in one statement, and
        one upsert per (user, day) it touches."""
        created = [e for _, e in events if isinstance(e, Task.Created)]
        finished = [
            e for _, e in events if isinstance(e, Task.StatusChanged) and e.to_status in FINISHED
        ]
        facts = {e.originator_id: (e.owner_id, e.timestamp) for e in created}
        unknown = [e.originator_id for e in finished if e.originator_id not in facts]
        facts.update(self._facts_of(cur, unknown))
        if created:
            cur.executemany(
                sql.SQL("INSERT INTO {} VALUES (%s, %s, %s) ON CONFLICT DO NOTHING").format(
                    self._facts
                ),
                [(e.originator_id, e.owner_id, e.timestamp) for e in created],
            )
        counts = _counts(created, finished, facts)
        if counts:
            cur.executemany(
                sql.SQL(
                    "INSERT INTO {} AS a VALUES (%s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (owner_id, day) DO UPDATE"
                    " SET created = a.created + EXCLUDED.created,"
                    " completed = a.completed + EXCLUDED.completed,"
                    " failed = a.failed + EXCLUDED.failed,"
                    " completion_seconds = a.completion_seconds + EXCLUDED.completion_seconds"
                ).format(self._t),
                [(owner, day, *row) for (owner, day), row in counts.items()],
            )

    def _facts_of(self, cur: psycopg.Cursor[Any], task_ids: list[UUID]) -> Facts:
        if not task_ids:
            return {}
        rows = cur.execute(
            sql.SQL("SELECT task_id, owner_id, created_at FROM {} WHERE task_id = ANY(%s)").format(
                self._facts
            ),
            (task_ids,),
        ).fetchall()
        return {task_id: (owner, at) for task_id, owner, at in rows}


def _day(at: datetime) -> date:
    return at.astimezone(UTC).date()


Facts = dict[UUID, tuple[UUID, datetime]]  # task -> (owner, created at)


def _counts(
    created: list[Any], finished: list[Any], facts: Facts
) -> dict[tuple[UUID, date], list[float]]:
    """Per (owner, day): created, completed, failed, seconds to complete."""
    counts: dict[tuple[UUID, date], list[float]] = {}
    for e in created:
        counts.setdefault((e.owner_id, _day(e.timestamp)), [0, 0, 0, 0.0])[0] += 1
    for e in finished:
        if e.originator_id not in facts:
            continue  # its creation is not in this log (an imported tail): nothing to count
        owner, created_at = facts[e.originator_id]
        row = counts.setdefault((owner, _day(e.timestamp)), [0, 0, 0, 0.0])
        if e.to_status == "completed":
            row[1] += 1
            row[3] += (e.timestamp - created_at).total_seconds()
        else:
            row[2] += 1
    return counts


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
