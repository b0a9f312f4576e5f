"""The dispatch columns of the tasks read model (agents, leases, outcomes, dead letter) and what
each dispatch event sets in them; plus the queries agents' polls and the dead-letter queue run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from domain.task import Task
from projections.table import add_missing_columns, page_of

# Added to the tasks table (ADD COLUMN IF NOT EXISTS: an existing table gains them; a rebuild
# fills them).
COLUMNS = (
    ("agent_id", "uuid"),
    ("intent", "text"),
    ("repo", "text"),
    ("branch", "text"),
    ("context", "jsonb NOT NULL DEFAULT '{{}}'"),
    ("instructions", "text"),
    ("required_tools", "text[] NOT NULL DEFAULT '{{}}'"),
    ("max_attempts", "integer NOT NULL DEFAULT 3"),
    ("attempts", "integer NOT NULL DEFAULT 0"),
    ("lease_agent_id", "uuid"),
    ("lease_expires_at", "timestamptz"),
    ("taken_by", "uuid"),
    ("progress", "double precision"),
    ("current_step", "text"),
    ("started_at", "timestamptz"),
    ("completed_at", "timestamptz"),
    ("result", "jsonb"),
    ("error", "text"),
    ("dead_letter_reason", "text"),
    ("dead_lettered_at", "timestamptz"),
)
INDEXES = (
    ("queue", "owner_id, status, created_at) WHERE (intent IS NOT NULL OR agent_id IS NOT NULL"),
    ("lease", "lease_agent_id) WHERE (lease_agent_id IS NOT NULL"),
    ("dead", "dead_lettered_at) WHERE (dead_lettered_at IS NOT NULL"),
)
NO_LEASE = {"lease_agent_id": None, "lease_expires_at": None}


COLUMN_DEFINITIONS = ", ".join(f"{name} {kind}" for name, kind in COLUMNS)  # for CREATE TABLE


def add_dispatch_columns(cur: psycopg.Cursor[Any], table: str) -> None:
    """Add the dispatch columns a table made before them lacks, and their indexes. Only missing
    columns are altered: ALTER TABLE locks the table exclusively even when it changes nothing,
    which would wait on (or deadlock with) readers and a concurrent start."""
    t = sql.Identifier(table)
    add_missing_columns(cur, table, dict(COLUMNS))
    for suffix, body in INDEXES:
        index = sql.Identifier(f"{table}_{suffix}_idx")
        cur.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (" + body + ")").format(index, t))


def _assigned(e: Any) -> dict[str, Any]:
    values = dict(e.dispatch)
    if "context" in values:
        values["context"] = Jsonb(values["context"])
    return values


def _leased(e: Any) -> dict[str, Any]:
    values = {
        "lease_agent_id": e.agent_id,
        "lease_expires_at": e.lease_expires_at,
        "taken_by": e.agent_id,
        "attempts": e.attempt,
        "status": "in_progress",
    }
    if e.attempt == 1:
        values["started_at"] = e.timestamp
    return values


def _progressed(e: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"status": "in_progress"}
    for column, value in (
        ("progress", e.progress),
        ("current_step", e.step),
        ("lease_expires_at", e.lease_expires_at),
    ):
        if value is not None:
            values[column] = value
    return values


def _completed(e: Any) -> dict[str, Any]:
    result = {k: getattr(e, k) for k in ("summary", "output", "pr_url", "result_files")}
    return {**NO_LEASE, "status": "completed", "result": Jsonb(result), "completed_at": e.timestamp}


def _failed(e: Any) -> dict[str, Any]:
    values = {**NO_LEASE, "error": e.error, "status": "failed" if e.final else "not_started"}
    if e.final:
        values["completed_at"] = e.timestamp
    return values


def _dead_lettered(e: Any) -> dict[str, Any]:
    return {
        **NO_LEASE,
        "status": "failed",
        "dead_letter_reason": e.reason,
        "dead_lettered_at": e.timestamp,
    }


OUT_OF_DLQ = {"dead_letter_reason": None, "dead_lettered_at": None}
VALUES: dict[type[Any], Callable[[Any], dict[str, Any]]] = {
    Task.Assigned: _assigned,
    Task.Leased: _leased,
    Task.LeaseExtended: lambda e: {"lease_expires_at": e.lease_expires_at},
    Task.LeaseExpired: lambda e: {**NO_LEASE, "status": "not_started"},
    Task.Progressed: _progressed,
    Task.Completed: _completed,
    Task.Failed: _failed,
    Task.Cancelled: lambda e: {**NO_LEASE, "status": "cancelled"},
    Task.DeadLettered: _dead_lettered,
    Task.Requeued: lambda e: {
        **OUT_OF_DLQ,
        "status": "not_started",
        "attempts": 0,
        "error": None,
        "completed_at": None,
    },
    Task.DeadLetterCleared: lambda e: dict(OUT_OF_DLQ),
}


class DispatchQueries:
    """Queries of the tasks table for agents' polls, reactors and the dead-letter queue."""

    def __init__(self, pool: ConnectionPool[Any], table: str = "tasks") -> None:
        self._pool = pool
        self._t = sql.Identifier(table)
        self.name = table

    def _rows(self, query: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            rows: list[dict[str, Any]] = cur.execute(
                sql.SQL(query).format(self._t), params
            ).fetchall()
        return rows

    def queued_for(
        self, owner_id: UUID, agent_id: UUID, capabilities: list[str], limit: int
    ) -> list[UUID]:
        """Tasks waiting for an agent that this agent may take, oldest first (pinned to it,
        or unpinned with an intent among its capabilities)."""
        rows = self._rows(
            "SELECT task_id FROM {} WHERE owner_id = %s AND status = 'not_started'"
            " AND dead_lettered_at IS NULL AND lease_agent_id IS NULL"
            " AND (agent_id = %s OR (agent_id IS NULL AND intent = ANY(%s)))"
            " ORDER BY created_at, task_id LIMIT %s",
            (owner_id, agent_id, capabilities, limit),
        )
        return [row["task_id"] for row in rows]

    def queued_among(
        self, owners: list[UUID], agent_ids: list[UUID], capabilities: list[str], limit: int
    ) -> list[dict[str, Any]]:
        """Tasks waiting for any of several agents, oldest first, in one query (pinned to one
        of ``agent_ids``, or unpinned with an intent among ``capabilities``): the rows' owner,
        pin, intent and required tools tell which of the agents may take each."""
        return self._rows(
            "SELECT task_id, owner_id, agent_id, intent, required_tools FROM {}"
            " WHERE owner_id = ANY(%s) AND status = 'not_started'"
            " AND dead_lettered_at IS NULL AND lease_agent_id IS NULL"
            " AND (agent_id = ANY(%s) OR (agent_id IS NULL AND intent = ANY(%s)))"
            " ORDER BY created_at, task_id LIMIT %s",
            (owners, agent_ids, capabilities, limit),
        )

    def leased_to(self, agent_id: UUID) -> list[UUID]:
        """The tasks whose lease ``agent_id`` holds."""
        rows = self._rows("SELECT task_id FROM {} WHERE lease_agent_id = %s", (agent_id,))
        return [row["task_id"] for row in rows]

    def held(self, agent_id: UUID, now: datetime) -> list[dict[str, Any]]:
        """The rows of the unexpired leases ``agent_id`` holds (a retried poll returns them)."""
        return self._rows(
            "SELECT * FROM {} WHERE lease_agent_id = %s AND lease_expires_at > %s"
            " ORDER BY created_at, task_id",
            (agent_id, now),
        )

    def dead_letters(self, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """One page of the dead-letter queue, oldest first."""
        query = sql.SQL(
            "SELECT *, count(*) OVER () AS total FROM {} WHERE dead_lettered_at IS NOT NULL"
            " ORDER BY dead_lettered_at, task_id LIMIT %s OFFSET %s"
        ).format(self._t)
        count = sql.SQL("SELECT count(*) FROM {} WHERE dead_lettered_at IS NOT NULL").format(
            self._t
        )
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            return page_of(cur, query, count, [], limit, offset)

    def dead_letter_ids(self) -> list[UUID]:
        """Every task in the dead-letter queue."""
        rows = self._rows("SELECT task_id FROM {} WHERE dead_lettered_at IS NOT NULL", ())
        return [row["task_id"] for row in rows]

    def dead_letter_stats(self) -> dict[str, Any]:
        """How many, by reason and by intent, and the oldest."""
        rows = self._rows(
            "SELECT dead_letter_reason AS reason, coalesce(intent, '') AS intent,"
            " count(*) AS n, min(dead_lettered_at) AS oldest FROM {}"
            " WHERE dead_lettered_at IS NOT NULL GROUP BY 1, 2",
            (),
        )
        by_reason: dict[str, int] = {}
        by_intent: dict[str, int] = {}
        for row in rows:
            by_reason[row["reason"]] = by_reason.get(row["reason"], 0) + row["n"]
            by_intent[row["intent"]] = by_intent.get(row["intent"], 0) + row["n"]
        oldest = min((row["oldest"] for row in rows), default=None)
        total = sum(by_reason.values())
        return {"total": total, "by_reason": by_reason, "by_intent": by_intent, "oldest_at": oldest}
