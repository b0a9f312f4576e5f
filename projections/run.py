"""The runs read model: one row per run in ``<table>`` and one per step of a run in
``<table>_steps`` (status, attempt, times, duration, result, error), and the queries on them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from domain.run import Run
from projections.envelope import jsonable
from projections.run_counts import create_counts, drop_counts, total_query

Handler = Callable[[psycopg.Cursor[Any], Any, int], None]
RUNS = (
    "run_id uuid PRIMARY KEY, owner_id uuid NOT NULL, flow_id uuid NOT NULL,"
    " flow_name text NOT NULL, flow_version integer NOT NULL, status text NOT NULL,"
    " trigger text NOT NULL, trigger_id uuid, inputs jsonb NOT NULL, created_by text NOT NULL,"
    " correlation_id text NOT NULL, created_at timestamptz NOT NULL, started_at timestamptz,"
    " completed_at timestamptz, error text, steps_total integer NOT NULL,"
    " steps_succeeded integer NOT NULL DEFAULT 0, steps_failed integer NOT NULL DEFAULT 0,"
    " updated_at timestamptz NOT NULL, version integer NOT NULL, position bigint NOT NULL"
)
STEPS = (
    "run_id uuid NOT NULL, step_id uuid NOT NULL, key text NOT NULL, name text NOT NULL,"
    " type text NOT NULL, ord integer NOT NULL, status text NOT NULL,"
    " attempt integer NOT NULL DEFAULT 0, started_at timestamptz, completed_at timestamptz,"
    " duration_ms bigint, result jsonb, error text, task_id uuid, approval_id uuid,"
    " PRIMARY KEY (run_id, step_id)"
)
# The run is "waiting" while every step in flight waits, "running" otherwise (until it ends).
_STATUS = (
    "UPDATE {runs} r SET status = CASE WHEN EXISTS (SELECT 1 FROM {steps} s WHERE s.run_id ="
    " r.run_id AND s.status = 'waiting') AND NOT EXISTS (SELECT 1 FROM {steps} s WHERE"
    " s.run_id = r.run_id AND s.status = 'running') THEN 'waiting' ELSE 'running' END,"
    " updated_at = %s, version = %s, position = %s WHERE run_id = %s"
    " AND status IN ('running', 'waiting')"
)


class RunProjection:
    """Projects run events into ``<table>`` and ``<table>_steps``."""

    topics = tuple(
        str(cls.TOPIC)
        for cls in (
            Run.Created, Run.Started, Run.StepStarted, Run.StepWaiting, Run.StepSucceeded,
            Run.StepFailed, Run.StepSkipped, Run.Succeeded, Run.Failed, Run.Cancelled,
        )
    )  # fmt: skip

    def __init__(self, table: str = "runs", name: str | None = None) -> None:
        self.table = table
        self.name = name or table
        self._t = sql.Identifier(table)
        self._s = sql.Identifier(f"{table}_steps")
        self._handlers: dict[type, Handler] = {
            Run.Created: self._created,
            Run.Started: self._started,
            Run.StepStarted: self._step_started,
            Run.StepWaiting: self._step_waiting,
            Run.StepSucceeded: self._step_succeeded,
            Run.StepFailed: self._step_failed,
            Run.StepSkipped: self._step_skipped,
            Run.Succeeded: lambda cur, e, p: self._end(cur, e, p, "succeeded", None),
            Run.Failed: self._failed,
            Run.Cancelled: self._cancelled,
        }

    def create_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """Create both tables and the indexes behind every filter of the runs list."""
        cur.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (" + RUNS + ")").format(self._t))
        cur.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (" + STEPS + ")").format(self._s))
        create_counts(cur, self.table)
        # Each filter's index ends with the list's order (newest first, then run_id): a page
        # is the first rows of one index range, with no sort (the indexes before ended at
        # created_at and left an Incremental Sort on run_id; dropped when found).
        for suffix, cols in (
            ("owner", "owner_id, created_at DESC, run_id"),
            ("flow_order", "owner_id, flow_id, created_at DESC, run_id"),
            ("status_order", "owner_id, status, created_at DESC, run_id"),
            ("trigger_order", "owner_id, trigger, created_at DESC, run_id"),
        ):
            cur.execute(
                sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (" + cols + ")").format(
                    sql.Identifier(f"{self.table}_{suffix}_idx"), self._t
                )
            )
        for suffix in ("flow", "status", "trigger"):
            index = sql.Identifier(f"{self.table}_{suffix}_idx")
            cur.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(index))
        cur.execute(
            sql.SQL(
                "CREATE INDEX IF NOT EXISTS {} ON {} (task_id) WHERE task_id IS NOT NULL"
            ).format(sql.Identifier(f"{self.table}_steps_task_idx"), self._s)
        )

    def drop_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """Drop both tables (used when a rebuild is thrown away)."""
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}, {}").format(self._t, self._s))
        drop_counts(cur, self.table)

    def apply(self, cur: psycopg.Cursor[Any], domain_event: Any, position: int) -> None:
        """Apply one run event."""
        handler = self._handlers.get(type(domain_event))
        if handler is not None:
            handler(cur, domain_event, position)

    def _created(self, cur: psycopg.Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            sql.SQL(
                "INSERT INTO {} (run_id, owner_id, flow_id, flow_name, flow_version, status,"
                " trigger, trigger_id, inputs, created_by, correlation_id, created_at,"
                " steps_total, updated_at, version, position) VALUES (%s, %s, %s, %s, %s,"
                " 'pending', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
            ).format(self._t),
            (
                e.originator_id, e.owner_id, e.flow_id, e.flow_name, e.flow_version, e.trigger,
                e.trigger_id, Jsonb(jsonable(e.inputs)), e.created_by, e.correlation_id,
                e.timestamp, len(e.steps), e.timestamp, e.originator_version, position,
            ),
        )  # fmt: skip
        cur.executemany(
            sql.SQL(
                "INSERT INTO {} (run_id, step_id, key, name, type, ord, status)"
                " VALUES (%s, %s, %s, %s, %s, %s, 'pending') ON CONFLICT DO NOTHING"
            ).format(self._s),
            [
                (e.originator_id, s["step_id"], s["key"], s["name"], s["type"], i)
                for i, s in enumerate(e.steps)
            ],
        )

    def _run(self, cur: psycopg.Cursor[Any], e: Any, position: int, sets: str, *args: Any) -> None:
        # ``sets`` is always one of this module's literals, never input.
        statement = "UPDATE {} SET " + sets + ", updated_at = %s, version = %s, position = %s"  # noqa: S608
        cur.execute(
            sql.SQL(statement + " WHERE run_id = %s").format(self._t),
            (*args, e.timestamp, e.originator_version, position, e.originator_id),
        )

    def _step(self, cur: psycopg.Cursor[Any], e: Any, sets: str, *args: Any) -> None:
        statement = "UPDATE {} SET " + sets  # noqa: S608 - sets: one of this module's literals
        cur.execute(
            sql.SQL(statement + " WHERE run_id = %s AND step_id = %s").format(self._s),
            (*args, e.originator_id, e.step_id),
        )

    def _status(self, cur: psycopg.Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            sql.SQL(_STATUS).format(runs=self._t, steps=self._s),
            (e.timestamp, e.originator_version, position, e.originator_id),
        )

    def _started(self, cur: psycopg.Cursor[Any], e: Any, position: int) -> None:
        self._run(cur, e, position, "status = 'running', started_at = %s", e.timestamp)

    def _step_started(self, cur: psycopg.Cursor[Any], e: Any, position: int) -> None:
        self._step(
            cur,
            e,
            "status = 'running', attempt = %s, started_at = %s, completed_at = NULL,"
            " duration_ms = NULL, error = NULL",
            e.attempt,
            e.timestamp,
        )
        self._status(cur, e, position)

    def _step_waiting(self, cur: psycopg.Cursor[Any], e: Any, position: int) -> None:
        detail = e.detail
        self._step(
            cur,
            e,
            "status = 'waiting', task_id = COALESCE(%s, task_id),"
            " approval_id = COALESCE(%s, approval_id)",
            detail.get("task_id"),
            detail.get("approval_id"),
        )
        self._status(cur, e, position)

    def _finish_step(
        self, cur: psycopg.Cursor[Any], e: Any, status: str, result: Any, error: Any
    ) -> None:
        self._step(
            cur,
            e,
            "status = %s, completed_at = %s, result = %s, error = %s, task_id = COALESCE(%s,"
            " task_id), duration_ms = (extract(epoch FROM %s - started_at) * 1000)::bigint",
            status,
            e.timestamp,
            None if result is None else Jsonb(jsonable(result)),
            error,
            (result or {}).get("task_id"),
            e.timestamp,
        )

    def _step_succeeded(self, cur: psycopg.Cursor[Any], e: Any, position: int) -> None:
        self._finish_step(cur, e, "succeeded", e.result, None)
        self._run(cur, e, position, "steps_succeeded = steps_succeeded + 1")
        self._status(cur, e, position)

    def _step_failed(self, cur: psycopg.Cursor[Any], e: Any, position: int) -> None:
        self._finish_step(cur, e, "pending" if e.retrying else "failed", None, e.error)
        if not e.retrying:
            self._run(cur, e, position, "steps_failed = steps_failed + 1")
        self._status(cur, e, position)

    def _step_skipped(self, cur: psycopg.Cursor[Any], e: Any, position: int) -> None:
        self._step(cur, e, "status = 'skipped', error = %s", e.reason)

    def _end(
        self, cur: psycopg.Cursor[Any], e: Any, position: int, status: str, error: Any
    ) -> None:
        self._run(
            cur,
            e,
            position,
            "status = %s, completed_at = %s, error = %s",
            status,
            e.timestamp,
            error,
        )

    def _stop_steps(self, cur: psycopg.Cursor[Any], e: Any) -> None:
        for status, ids in (("cancelled", e.cancelled_steps), ("skipped", e.skipped_steps)):
            if ids:
                cur.execute(
                    sql.SQL(
                        "UPDATE {} SET status = %s, completed_at = %s WHERE run_id = %s"
                        " AND step_id = ANY(%s)"
                    ).format(self._s),
                    (status, e.timestamp, e.originator_id, list(ids)),
                )

    def _failed(self, cur: psycopg.Cursor[Any], e: Any, position: int) -> None:
        self._stop_steps(cur, e)
        self._end(cur, e, position, "failed", e.error)

    def _cancelled(self, cur: psycopg.Cursor[Any], e: Any, position: int) -> None:
        self._stop_steps(cur, e)
        self._end(cur, e, position, "cancelled", e.reason or "cancelled")


@dataclass(frozen=True)
class RunPage:
    """One page of a user's runs and how many there are in all."""

    runs: list[dict[str, Any]]
    total: int


class RunQueries:
    """Read-only queries on the runs tables; each sees only the caller's own runs."""

    def __init__(self, pool: ConnectionPool[Any], table: str = "runs") -> None:
        self._pool = pool
        self._t = sql.Identifier(table)
        self._s = sql.Identifier(f"{table}_steps")
        self._n = sql.Identifier(f"{table}_counts")
        self.name = table  # the read model a query waits for (read-your-writes)

    def list(
        self,
        owner_id: UUID,
        filters: dict[str, Any],
        limit: int = 50,
        offset: int = 0,
    ) -> RunPage:
        """The owner's runs, newest first; ``filters``: flow_id, status, trigger, since, until."""
        where: list[sql.Composable] = [sql.SQL("owner_id = %s")]
        params: list[Any] = [owner_id]
        for column in ("flow_id", "status", "trigger"):
            if filters.get(column) is not None:
                where.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
                params.append(filters[column])
        base, base_params = sql.SQL(" AND ").join(where), list(params)
        for key, op in (("since", ">="), ("until", "<")):
            if filters.get(key) is not None:
                where.append(sql.SQL("created_at " + op + " %s"))
                params.append(filters[key])
        query = sql.SQL(
            "SELECT * FROM {} WHERE {} ORDER BY created_at DESC, run_id LIMIT %s OFFSET %s"
        ).format(self._t, sql.SQL(" AND ").join(where))
        count, count_params = total_query(
            self._n, self._t, base, base_params, filters.get("since"), filters.get("until")
        )
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(query, (*params, limit, offset)).fetchall()
            found = cur.execute(count, count_params).fetchone()
        total = int(next(iter(found.values()))) if found else 0
        return RunPage(rows, total)

    def get(self, owner_id: UUID, run_id: UUID) -> dict[str, Any] | None:
        """One of the owner's runs with its steps (in flow order), or None."""
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            row: dict[str, Any] | None = cur.execute(
                sql.SQL("SELECT * FROM {} WHERE run_id = %s AND owner_id = %s").format(self._t),
                (run_id, owner_id),
            ).fetchone()
            if row is not None:
                row["steps"] = cur.execute(
                    sql.SQL("SELECT * FROM {} WHERE run_id = %s ORDER BY ord").format(self._s),
                    (run_id,),
                ).fetchall()
        return row

    def latest_started(self, owner_id: UUID, flow_id: UUID) -> datetime | None:
        """When the owner's latest run of a flow started (Behflow's ``last_execution``)."""
        with self._pool.connection() as conn:
            found = conn.execute(
                sql.SQL(
                    "SELECT started_at FROM {} WHERE owner_id = %s AND flow_id = %s"
                    " ORDER BY created_at DESC LIMIT 1"
                ).format(self._t),
                (owner_id, flow_id),
            ).fetchone()
        return found[0] if found else None
