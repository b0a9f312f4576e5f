"""Numbers over the agents, tasks and workers read models for the analytics and exports
(``interfaces/features/agents.py``): how many agents are online, what each one did in a window
of days, the workers with their agents, and every agent streamed for an export."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from projections.run_numbers import day_bounds
from projections.table import stream_rows

ONLINE = ("idle", "busy")  # heartbeating; offline and error are not
COUNT = "SELECT count(*) AS total, count(*) FILTER (WHERE status = ANY(%(online)s)) AS online"
# Tasks an agent last took that ended in the window: done, failed for good (dead letters too).
PERFORMANCE = (
    "SELECT a.agent_id, a.name, a.status, a.created_at,"
    " count(t.task_id) FILTER (WHERE t.status = 'completed') AS tasks_completed,"
    " count(t.task_id) FILTER (WHERE t.status = 'failed') AS tasks_failed,"
    " avg(extract(epoch FROM t.completed_at - t.started_at))"
    " FILTER (WHERE t.status = 'completed') AS avg_duration_seconds"
    " FROM {agents} a LEFT JOIN {tasks} t ON t.owner_id = a.owner_id AND t.taken_by = a.agent_id"
    " AND t.status IN ('completed', 'failed')"
    " AND t.completed_at >= %(start)s AND t.completed_at < %(end)s"
)
WORKERS = (
    "SELECT w.worker_id, w.name, w.status, count(a.agent_id) AS agents"
    " FROM {workers} w LEFT JOIN {agents} a"
    " ON a.owner_id = w.owner_id AND a.worker_id = w.worker_id"
)


class AgentNumbers:
    """Queries over the agents table (and the tasks and workers tables beside it); each sees the
    owner's rows (everyone's for None)."""

    def __init__(
        self,
        pool: ConnectionPool[Any],
        table: str = "agents",
        tasks: str = "tasks",
        workers: str = "workers",
    ) -> None:
        self._pool = pool
        self._tables = {
            "agents": sql.Identifier(table),
            "tasks": sql.Identifier(tasks),
            "workers": sql.Identifier(workers),
        }
        self.name = table  # the read model these wait for

    def _rows(self, text: str, owner_id: UUID | None, **params: Any) -> list[dict[str, Any]]:
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            query = sql.SQL(text).format(**self._tables)
            rows: list[dict[str, Any]] = cur.execute(
                query, {**params, "owner": owner_id}
            ).fetchall()
        return rows

    def overview(self, owner_id: UUID | None) -> dict[str, int]:
        """How many agents there are, and how many of them are online."""
        mine = " WHERE owner_id = %(owner)s" if owner_id else ""
        found = self._rows(COUNT + " FROM {agents}" + mine, owner_id, online=list(ONLINE))[0]
        return {"total": int(found["total"]), "online": int(found["online"])}

    def performance(self, owner_id: UUID | None, first: date, last: date) -> list[dict[str, Any]]:
        """Per agent, oldest first: the tasks it completed and failed in the window, the share
        completed and the average seconds from start to completion."""
        start, end = day_bounds(first, last)
        mine = " WHERE a.owner_id = %(owner)s" if owner_id else ""
        rows = self._rows(
            PERFORMANCE + mine + " GROUP BY a.agent_id ORDER BY a.created_at, a.agent_id",
            owner_id,
            start=start,
            end=end,
        )
        for row in rows:
            done, failed = row["tasks_completed"], row["tasks_failed"]
            row["success_rate"] = round(done / (done + failed), 4) if done + failed else 0.0
            seconds = row["avg_duration_seconds"]
            row["avg_duration_seconds"] = None if seconds is None else round(float(seconds), 3)
        return rows

    def workers(self, owner_id: UUID | None) -> list[dict[str, Any]]:
        """The owner's workers, oldest first, with how many agents run on each."""
        mine = " WHERE w.owner_id = %(owner)s" if owner_id else ""
        return self._rows(
            WORKERS + mine + " GROUP BY w.worker_id ORDER BY w.created_at, w.worker_id",
            owner_id,
        )

    def stream(self, owner_id: UUID | None, columns: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        """Every agent of the owner (of everyone when None), oldest first, streamed."""
        table = self._tables["agents"]
        return stream_rows(self._pool, table, columns, owner_id, ("created_at", "agent_id"))
