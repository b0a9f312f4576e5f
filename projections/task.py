"""The tasks read model: one row per live task, and the queries the task endpoints run on it."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from domain.task import Task, TaskPriority, TaskStatus
from projections.row_batch import Change, Delete, Insert, stamped
from projections.table import TableProjection, insert_row, page_of, stream_rows, update_row
from projections.task_dispatch import COLUMN_DEFINITIONS, VALUES, add_dispatch_columns

COLUMNS = (
    "task_id",
    "owner_id",
    "name",
    "description",
    "status",
    "priority",
    "due_date",
    "tags",
    "created_at",
    "updated_at",
    "version",
    "position",
)
# The contract's statuses: failed and cancelled arrive with agent tasks (issue 15).
STATUSES = (*(s.value for s in TaskStatus), "failed", "cancelled")
PRIORITIES = tuple(p.value for p in TaskPriority)
UPDATABLE = frozenset({"name", "description", "priority", "due_date", "tags"})


class TaskProjection(TableProjection):
    """Projects task events into ``<table>`` (``tasks`` unless rebuilding into another)."""

    key = "task_id"

    topics = (
        *(cls.TOPIC for cls in (Task.Created, Task.Updated, Task.StatusChanged, Task.Deleted)),
        *(kind.TOPIC for kind in VALUES),
    )

    def __init__(self, table: str = "tasks", name: str | None = None) -> None:
        super().__init__(table, name)
        self._handlers: dict[type, Callable[[psycopg.Cursor[Any], Any, int], None]] = {
            Task.Created: self._created,
            Task.Updated: self._updated,
            Task.StatusChanged: self._status_changed,
            Task.Deleted: self._deleted,
            **{kind: self._dispatch for kind in VALUES},
        }

    def create_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """Create the table and the indexes behind every filter of the task list."""
        t = self._t
        cur.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                " task_id uuid PRIMARY KEY, owner_id uuid NOT NULL, name text NOT NULL,"
                " description text NOT NULL, status text NOT NULL, priority text NOT NULL,"
                " due_date timestamptz, tags text[] NOT NULL, created_at timestamptz NOT NULL,"
                " updated_at timestamptz NOT NULL, version integer NOT NULL,"
                " position bigint NOT NULL, " + COLUMN_DEFINITIONS + ")"
            ).format(t)
        )
        for suffix, cols in (
            ("owner", "owner_id, created_at DESC, task_id"),
            ("status", "owner_id, status, created_at DESC"),
            ("priority", "owner_id, priority, created_at DESC"),
        ):
            cur.execute(
                sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (" + cols + ")").format(
                    sql.Identifier(f"{self.table}_{suffix}_idx"), t
                )
            )
        add_dispatch_columns(cur, self.table)

    def apply(self, cur: psycopg.Cursor[Any], domain_event: Any, position: int) -> None:
        """Apply one task event."""
        handler = self._handlers.get(type(domain_event))
        if handler is not None:
            handler(cur, domain_event, position)

    def change_of(self, e: Any, position: int) -> Change | None:
        """What one event does to its task's row (the batch path's form of ``apply``)."""
        kind = type(e)
        if kind is Task.Created:
            return Insert(e.originator_id, self._row(e, position))
        if kind is Task.Deleted:
            return Delete(e.originator_id)
        if kind is Task.Updated:
            values = {k: v for k, v in e.changes.items() if k in UPDATABLE}
        elif kind is Task.StatusChanged:
            values = {"status": e.to_status}
        elif kind in VALUES:
            values = VALUES[kind](e)
        else:
            return None
        return stamped(e, position, values)

    @staticmethod
    def _row(e: Task.Created, position: int) -> dict[str, Any]:
        values = (
            e.originator_id,
            e.owner_id,
            e.name,
            e.description,
            "not_started",
            e.priority,
            e.due_date,
            list(e.tags),
            e.timestamp,
            e.timestamp,
            e.originator_version,
            position,
        )
        return dict(zip(COLUMNS, values, strict=True))

    def _created(self, cur: psycopg.Cursor[Any], e: Task.Created, position: int) -> None:
        insert_row(cur, self._t, self._row(e, position))

    def _updated(self, cur: psycopg.Cursor[Any], e: Task.Updated, position: int) -> None:
        changes = {k: v for k, v in e.changes.items() if k in UPDATABLE}
        self._set(cur, e, position, changes)

    def _status_changed(self, cur: psycopg.Cursor[Any], e: Task.StatusChanged, pos: int) -> None:
        self._set(cur, e, pos, {"status": e.to_status})

    def _dispatch(self, cur: psycopg.Cursor[Any], e: Any, position: int) -> None:
        self._set(cur, e, position, VALUES[type(e)](e))

    def _deleted(self, cur: psycopg.Cursor[Any], e: Task.Deleted, position: int) -> None:
        cur.execute(
            sql.SQL("DELETE FROM {} WHERE task_id = %s").format(self._t), (e.originator_id,)
        )

    def _set(self, cur: psycopg.Cursor[Any], e: Any, position: int, values: dict[str, Any]) -> None:
        update_row(cur, self._t, "task_id", e, position, values)


@dataclass(frozen=True)
class TaskPage:
    """One page of a user's tasks and how many there are in all."""

    tasks: list[dict[str, Any]]
    total: int


class TaskQueries:
    """Read-only queries on the tasks table; each sees only the caller's own tasks."""

    def __init__(self, pool: ConnectionPool[Any], table: str = "tasks") -> None:
        self._pool = pool
        self._t = sql.Identifier(table)
        self.name = table  # the read model a query waits for (read-your-writes)

    def list(
        self,
        owner_id: UUID,
        status: str | None = None,
        priority: str | None = None,
        limit: int = 50,
        offset: int = 0,
        agent_id: UUID | None = None,
    ) -> TaskPage:
        """The owner's tasks, newest first, filtered by status and priority."""
        where: list[sql.Composable] = [sql.SQL("owner_id = %s")]
        params: list[Any] = [owner_id]
        for column, value in (("status", status), ("priority", priority), ("agent_id", agent_id)):
            if value is not None:
                where.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
                params.append(value)
        condition = sql.SQL(" AND ").join(where)
        query = sql.SQL(
            "SELECT *, count(*) OVER () AS total FROM {} WHERE {}"
            " ORDER BY created_at DESC, task_id LIMIT %s OFFSET %s"
        ).format(self._t, condition)
        count = sql.SQL("SELECT count(*) FROM {} WHERE {}").format(self._t, condition)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            rows, total = page_of(cur, query, count, params, limit, offset)
        return TaskPage(rows, total)

    def get(self, owner_id: UUID, task_id: UUID) -> dict[str, Any] | None:
        """One of the owner's tasks, or None."""
        query = sql.SQL("SELECT * FROM {} WHERE task_id = %s AND owner_id = %s").format(self._t)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            row: dict[str, Any] | None = cur.execute(query, (task_id, owner_id)).fetchone()
            return row

    def stats(self, owner_id: UUID | None, now: datetime) -> dict[str, Any]:
        """The owner's tasks (everyone's when None) counted by status and by priority, and how
        many are overdue (due before ``now`` and not completed)."""
        mine = sql.SQL("WHERE owner_id = %s" if owner_id else "")
        query = sql.SQL(
            "SELECT status, priority, count(*) AS n, count(*) FILTER"
            " (WHERE due_date < %s AND status <> 'completed') AS overdue"
            " FROM {} {} GROUP BY status, priority"
        ).format(self._t, mine)
        by_status: dict[str, int] = dict.fromkeys(STATUSES, 0)
        by_priority: dict[str, int] = dict.fromkeys(PRIORITIES, 0)
        overdue = 0
        with self._pool.connection() as conn:
            params = (now, owner_id) if owner_id else (now,)
            for status, priority, n, late in conn.execute(query, params).fetchall():
                by_status[status] = by_status.get(status, 0) + n
                by_priority[priority] = by_priority.get(priority, 0) + n
                overdue += late
        total = sum(by_status.values())
        return {
            "total": total,
            "by_status": by_status,
            "by_priority": by_priority,
            "overdue": overdue,
        }

    def stream(self, owner_id: UUID | None, columns: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        """Every task of the owner (of everyone when None), oldest first, streamed with flat
        memory however many there are."""
        return stream_rows(self._pool, self._t, columns, owner_id, ("created_at", "task_id"))

    def containing(self, owner_id: UUID, text: str, limit: int) -> builtins.list[dict[str, Any]]:
        """Up to ``limit`` of the owner's tasks whose name contains ``text``, ignoring case;
        those named exactly ``text`` first, then the newest."""
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = sql.SQL(
            "SELECT * FROM {} WHERE owner_id = %s AND name ILIKE %s"
            " ORDER BY lower(name) = lower(%s) DESC, created_at DESC, task_id LIMIT %s"
        ).format(self._t)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            params = (owner_id, f"%{escaped}%", text, limit)
            rows: builtins.list[dict[str, Any]] = cur.execute(query, params).fetchall()
            return rows

    def by_ids(self, owner_id: UUID, task_ids: Sequence[UUID]) -> builtins.list[dict[str, Any]]:
        """The owner's tasks among ``task_ids``."""
        query = sql.SQL("SELECT * FROM {} WHERE owner_id = %s AND task_id = ANY(%s)").format(
            self._t
        )
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            rows: builtins.list[dict[str, Any]] = cur.execute(
                query, (owner_id, list(task_ids))
            ).fetchall()
            return rows
