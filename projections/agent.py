"""The agents read model: one row per live agent, and the queries the agent endpoints run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from domain.agent import PROFILE, Agent
from projections.row_batch import Change, Delete, Insert, stamped
from projections.table import TableProjection, page_of

TEXT = ("agent_version", "platform", "description", "role", "llm_provider", "llm_model")
COLUMNS = (
    "agent_id uuid PRIMARY KEY, owner_id uuid NOT NULL, agent_key text NOT NULL,"
    " name text NOT NULL, status text NOT NULL, enabled boolean NOT NULL,"
    + "".join(f" {c} text," for c in TEXT)
    + " system_prompt text, worker_id uuid, capabilities text[] NOT NULL,"
    " enabled_tools text[] NOT NULL, created_at timestamptz NOT NULL,"
    " updated_at timestamptz NOT NULL, version integer NOT NULL, position bigint NOT NULL"
)


class AgentProjection(TableProjection):
    """Projects agent events into ``<table>`` (``agents`` unless rebuilding)."""

    key = "agent_id"
    topics = tuple(
        kind.TOPIC for kind in (Agent.Created, Agent.Updated, Agent.StatusChanged, Agent.Deleted)
    )

    def __init__(self, table: str = "agents", name: str | None = None) -> None:
        super().__init__(table, name)

    def create_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """Create the table and the index of the owner's list."""
        self._create(cur, COLUMNS, "owner_id, created_at DESC, agent_id")

    def apply(self, cur: psycopg.Cursor[Any], domain_event: Any, position: int) -> None:
        """Apply one agent event."""
        self.apply_batch(cur, [(position, domain_event)])

    def change_of(self, e: Any, position: int) -> Change | None:
        """What one event does to its agent's row."""
        kind = type(e)
        if kind is Agent.Created:
            return Insert(e.originator_id, self._row(e, position))
        if kind is Agent.Deleted:
            return Delete(e.originator_id)
        if kind is Agent.Updated:
            return stamped(e, position, {k: v for k, v in e.changes.items() if k in PROFILE})
        if kind is Agent.StatusChanged:
            return stamped(e, position, {"status": e.to_status, "enabled": e.enabled})
        return None

    @staticmethod
    def _row(e: Any, position: int) -> dict[str, Any]:
        profile = {k: e.profile.get(k) for k in PROFILE}
        profile["capabilities"] = list(profile["capabilities"] or [])
        profile["enabled_tools"] = list(profile["enabled_tools"] or [])
        return {
            "agent_id": e.originator_id,
            "owner_id": e.owner_id,
            "agent_key": e.agent_key,
            **profile,
            "status": "idle",
            "enabled": True,
            "created_at": e.timestamp,
            "updated_at": e.timestamp,
            "version": e.originator_version,
            "position": position,
        }


class AgentQueries:
    """Read-only queries on the agents table; each sees only the caller's own agents."""

    def __init__(self, pool: ConnectionPool[Any], table: str = "agents") -> None:
        self._pool = pool
        self._t = sql.Identifier(table)
        self.name = table

    def list(
        self,
        owner_id: UUID,
        statuses: list[str] | None = None,
        capability: str | None = None,
        role: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """The owner's agents, newest first, filtered by status, capability and role."""
        where = ["owner_id = %s"]
        params: list[Any] = [owner_id]
        for clause, value in (
            ("status = ANY(%s)", statuses),
            ("%s = ANY(capabilities)", capability),
            ("role = %s", role),
        ):
            if value is not None:
                where.append(clause)
                params.append(value)
        condition = sql.SQL(" AND ".join(where))
        query = sql.SQL(
            "SELECT *, count(*) OVER () AS total FROM {} WHERE {}"
            " ORDER BY created_at DESC, agent_id LIMIT %s OFFSET %s"
        ).format(self._t, condition)
        count = sql.SQL("SELECT count(*) FROM {} WHERE {}").format(self._t, condition)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            return page_of(cur, query, count, params, limit, offset)

    def get(self, owner_id: UUID, agent_id: UUID) -> dict[str, Any] | None:
        """One of the owner's agents, or None."""
        query = sql.SQL("SELECT * FROM {} WHERE agent_id = %s AND owner_id = %s").format(self._t)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            row: dict[str, Any] | None = cur.execute(query, (agent_id, owner_id)).fetchone()
            return row

    def of_worker(self, owner_id: UUID, worker_id: UUID) -> Sequence[UUID]:
        """The owner's agents that run on ``worker_id``."""
        query = sql.SQL("SELECT agent_id FROM {} WHERE owner_id = %s AND worker_id = %s").format(
            self._t
        )
        with self._pool.connection() as conn, conn.cursor() as cur:
            return [row[0] for row in cur.execute(query, (owner_id, worker_id)).fetchall()]

    def count(self, owner_id: UUID) -> int:
        """How many agents the owner has."""
        query = sql.SQL("SELECT count(*) FROM {} WHERE owner_id = %s").format(self._t)
        with self._pool.connection() as conn, conn.cursor() as cur:
            row = cur.execute(query, (owner_id,)).fetchone()
        return int(row[0]) if row else 0
