"""The workers read model (002): one row per worker, and the queries of the worker endpoints."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from domain.worker import SPEC_NUMBERS, SPEC_TEXT, Worker
from projections.row_batch import Change, Insert, stamped
from projections.table import TableProjection, page_of

COLUMNS = (
    "worker_id uuid PRIMARY KEY, owner_id uuid NOT NULL, name text NOT NULL,"
    " hostname text, ip_address text, os_info text, max_agents integer, cpu_cores integer,"
    " memory_total_mb integer, is_approved boolean NOT NULL, group_name text,"
    " status text NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,"
    " version integer NOT NULL, position bigint NOT NULL"
)


class WorkerProjection(TableProjection):
    """Projects worker events into ``<table>`` (``workers`` unless rebuilding)."""

    key = "worker_id"
    topics = tuple(
        kind.TOPIC
        for kind in (Worker.Created, Worker.Approved, Worker.Rejected, Worker.StatusChanged)
    )

    def __init__(self, table: str = "workers", name: str | None = None) -> None:
        super().__init__(table, name)

    def create_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """Create the table and the owner's index."""
        self._create(cur, COLUMNS, "owner_id, created_at DESC, worker_id")

    def apply(self, cur: psycopg.Cursor[Any], domain_event: Any, position: int) -> None:
        """Apply one worker event."""
        self.apply_batch(cur, [(position, domain_event)])

    def change_of(self, e: Any, position: int) -> Change | None:
        """What one event does to its worker's row."""
        kind = type(e)
        if kind is Worker.Created:
            spec = {k: e.spec.get(k) for k in (*SPEC_TEXT, *SPEC_NUMBERS)}
            row = {
                "worker_id": e.originator_id,
                "owner_id": e.owner_id,
                "name": e.name,
                **spec,
                "is_approved": False,
                "status": "pending_approval",
                "created_at": e.timestamp,
                "updated_at": e.timestamp,
                "version": e.originator_version,
                "position": position,
            }
            return Insert(e.originator_id, row)
        if kind is Worker.Approved:
            values = {"is_approved": True, "group_name": e.group, "status": "offline"}
            return stamped(e, position, values)
        if kind is Worker.Rejected:
            return stamped(e, position, {"is_approved": False, "status": "rejected"})
        if kind is Worker.StatusChanged:
            return stamped(e, position, {"status": e.to_status})
        return None


class WorkerQueries:
    """Queries on the workers table."""

    def __init__(self, pool: ConnectionPool[Any], table: str = "workers") -> None:
        self._pool = pool
        self._t = sql.Identifier(table)
        self.name = table

    def page(self, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """Every worker, newest first (admin)."""
        query = sql.SQL(
            "SELECT *, count(*) OVER () AS total FROM {}"
            " ORDER BY created_at DESC, worker_id LIMIT %s OFFSET %s"
        ).format(self._t)
        count = sql.SQL("SELECT count(*) FROM {}").format(self._t)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            return page_of(cur, query, count, [], limit, offset)

    def of_owner(self, owner_id: UUID) -> list[dict[str, Any]]:
        """The owner's workers."""
        query = sql.SQL("SELECT * FROM {} WHERE owner_id = %s").format(self._t)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            rows: list[dict[str, Any]] = cur.execute(query, (owner_id,)).fetchall()
        return rows
