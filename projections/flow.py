"""The flows read model: one row per live flow (its steps as JSON), and the queries on it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from domain.flow import Flow
from domain.run import Run
from projections.envelope import jsonable
from projections.table import TableProjection, insert_row, page_of, update_row

Handler = Callable[[psycopg.Cursor[Any], Any, int], None]


class FlowProjection(TableProjection):
    """Projects flow events (and each run's start, for ``last_run_at``) into ``<table>``."""

    key = "flow_id"
    topics = (
        *(
            cls.TOPIC
            for cls in (
                Flow.Created,
                Flow.Updated,
                Flow.StepAdded,
                Flow.StepUpdated,
                Flow.StepRemoved,
                Flow.Activated,
                Flow.Deactivated,
                Flow.Deleted,
            )
        ),
        Run.Created.TOPIC,
    )

    def __init__(self, table: str = "flows", name: str | None = None) -> None:
        super().__init__(table, name)
        steps: Handler = lambda cur, e, p: self._set(cur, e, p, _steps(e.steps))  # noqa: E731
        self._handlers: dict[type, Handler] = {
            Flow.Created: self._created,
            Flow.Updated: self._updated,
            Flow.StepAdded: steps,
            Flow.StepUpdated: steps,
            Flow.StepRemoved: steps,
            Flow.Activated: lambda cur, e, p: self._set(cur, e, p, {"is_active": True}),
            Flow.Deactivated: lambda cur, e, p: self._set(cur, e, p, {"is_active": False}),
            Flow.Deleted: self._deleted,
            Run.Created: self._run_created,
        }

    def create_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """Create the table and the indexes behind every filter of the flow list."""
        cur.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                " flow_id uuid PRIMARY KEY, owner_id uuid NOT NULL, name text NOT NULL,"
                " description text NOT NULL, is_template boolean NOT NULL,"
                " is_active boolean NOT NULL, config jsonb NOT NULL, steps jsonb NOT NULL,"
                " steps_count integer NOT NULL, last_run_at timestamptz,"
                " created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,"
                " version integer NOT NULL, position bigint NOT NULL)"
            ).format(self._t)
        )
        for suffix, cols in (
            ("owner", "owner_id, created_at DESC, flow_id"),
            ("active", "owner_id, is_active, created_at DESC"),
            ("template", "owner_id, is_template, created_at DESC"),
        ):
            cur.execute(
                sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (" + cols + ")").format(
                    sql.Identifier(f"{self.table}_{suffix}_idx"), self._t
                )
            )

    def apply_batch(self, cur: psycopg.Cursor[Any], events: list[tuple[int, Any]]) -> None:
        """Apply ``(position, event)`` pairs one by one (flows change rarely)."""
        for position, domain_event in events:
            self.apply(cur, domain_event, position)

    def apply(self, cur: psycopg.Cursor[Any], domain_event: Any, position: int) -> None:
        """Apply one event."""
        handler = self._handlers.get(type(domain_event))
        if handler is not None:
            handler(cur, domain_event, position)

    def _created(self, cur: psycopg.Cursor[Any], e: Any, position: int) -> None:
        row = {
            "flow_id": e.originator_id,
            "owner_id": e.owner_id,
            "name": e.name,
            "description": e.description,
            "is_template": e.is_template,
            "is_active": e.is_active,
            "config": Jsonb(jsonable(e.config)),
            **_steps(e.steps),
            "created_at": e.timestamp,
            "updated_at": e.timestamp,
            "version": e.originator_version,
            "position": position,
        }
        insert_row(cur, self._t, row)

    def _updated(self, cur: psycopg.Cursor[Any], e: Any, position: int) -> None:
        values = {k: v for k, v in e.changes.items() if k != "steps"}
        if "config" in values:
            values["config"] = Jsonb(jsonable(values["config"]))
        if "steps" in e.changes:
            values.update(_steps(e.changes["steps"]))
        self._set(cur, e, position, values)

    def _deleted(self, cur: psycopg.Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            sql.SQL("DELETE FROM {} WHERE flow_id = %s").format(self._t), (e.originator_id,)
        )

    def _run_created(self, cur: psycopg.Cursor[Any], e: Any, position: int) -> None:
        cur.execute(
            sql.SQL("UPDATE {} SET last_run_at = %s WHERE flow_id = %s").format(self._t),
            (e.timestamp, e.flow_id),
        )

    def _set(self, cur: psycopg.Cursor[Any], e: Any, position: int, values: dict[str, Any]) -> None:
        update_row(cur, self._t, "flow_id", e, position, values)


def _steps(steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {"steps": Jsonb(jsonable(steps)), "steps_count": len(steps)}


@dataclass(frozen=True)
class FlowPage:
    """One page of a user's flows and how many there are in all."""

    flows: list[dict[str, Any]]
    total: int


class FlowQueries:
    """Read-only queries on the flows table; each sees only the caller's own flows."""

    def __init__(self, pool: ConnectionPool[Any], table: str = "flows") -> None:
        self._pool = pool
        self._t = sql.Identifier(table)
        self.name = table  # the read model a query waits for (read-your-writes)

    def list(
        self,
        owner_id: UUID,
        is_active: bool | None = None,
        is_template: bool | None = None,
        q: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> FlowPage:
        """The owner's flows, newest first, filtered."""
        where: list[sql.Composable] = [sql.SQL("owner_id = %s")]
        params: list[Any] = [owner_id]
        for column, value in (("is_active", is_active), ("is_template", is_template)):
            if value is not None:
                where.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
                params.append(value)
        if q:
            where.append(sql.SQL("strpos(lower(name), lower(%s)) > 0"))
            params.append(q)
        condition = sql.SQL(" AND ").join(where)
        query = sql.SQL(
            "SELECT *, count(*) OVER () AS total FROM {} WHERE {}"
            " ORDER BY created_at DESC, flow_id LIMIT %s OFFSET %s"
        ).format(self._t, condition)
        count = sql.SQL("SELECT count(*) FROM {} WHERE {}").format(self._t, condition)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            rows, total = page_of(cur, query, count, params, limit, offset)
        return FlowPage(rows, total)

    def get(self, owner_id: UUID, flow_id: UUID) -> dict[str, Any] | None:
        """One of the owner's flows, or None."""
        query = sql.SQL("SELECT * FROM {} WHERE flow_id = %s AND owner_id = %s").format(self._t)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            row: dict[str, Any] | None = cur.execute(query, (flow_id, owner_id)).fetchone()
            return row
