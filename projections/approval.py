"""The approvals read model: one row per approval, its votes in ``decisions`` and its voters in
``voters``, and the queries of /api/v1/approvals (who may see what is decided here in SQL: the
requester, the eligible approvers and admins)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from domain.approval import Approval
from projections.envelope import jsonable
from projections.table import page_of

Handler = Callable[[psycopg.Cursor[Any], Any, int], None]
COLUMNS = (
    "approval_id uuid PRIMARY KEY, requested_by uuid NOT NULL, title text NOT NULL,"
    " description text NOT NULL, status text NOT NULL, outcome text, subject jsonb NOT NULL,"
    " subject_type text NOT NULL, run_id uuid, approver_user_ids uuid[] NOT NULL,"
    " approver_roles text[] NOT NULL, quorum integer NOT NULL,"
    " allow_self_approval boolean NOT NULL, on_expiry text NOT NULL, payload jsonb NOT NULL,"
    " approvals_count integer NOT NULL DEFAULT 0, voters uuid[] NOT NULL DEFAULT '{{}}',"
    " decisions jsonb NOT NULL DEFAULT '[]', expires_at timestamptz, decided_at timestamptz,"
    " created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,"
    " version integer NOT NULL, position bigint NOT NULL"
)
# Eligible to vote (the requester aside): a member or admin listed by id or role, or anyone of
# those roles when no approver is listed. Parameters: user id, role, role.
_ELIGIBLE = (
    "(%s = ANY(approver_user_ids) OR %s = ANY(approver_roles) OR (cardinality(approver_user_ids)"
    " = 0 AND cardinality(approver_roles) = 0 AND %s IN ('admin', 'member')))"
)


class ApprovalProjection:
    """Projects approval events into ``<table>`` (``approvals`` unless rebuilding)."""

    topics = tuple(
        str(kind.TOPIC)
        for kind in (
            Approval.Created,
            Approval.VoteRecorded,
            Approval.Approved,
            Approval.Rejected,
            Approval.Expired,
            Approval.Cancelled,
        )
    )

    def __init__(self, table: str = "approvals", name: str | None = None) -> None:
        self.table = table
        self.name = name or table
        self._t = sql.Identifier(table)
        self._handlers: dict[type, Handler] = {
            Approval.Created: self._requested,
            Approval.VoteRecorded: self._voted,
            Approval.Approved: lambda cur, e, p: self._decide(cur, e, p, "approved", "approved"),
            Approval.Rejected: lambda cur, e, p: self._decide(cur, e, p, "rejected", "rejected"),
            Approval.Expired: lambda cur, e, p: self._decide(cur, e, p, "expired", e.outcome),
            Approval.Cancelled: lambda cur, e, p: self._decide(cur, e, p, "cancelled", None),
        }

    def create_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """Create the table and the indexes of the list's filters."""
        cur.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (" + COLUMNS + ")").format(self._t))
        for suffix, using, cols in (
            ("requester", "btree", "requested_by, created_at DESC"),
            ("status", "btree", "status, created_at DESC"),
            ("run", "btree", "run_id"),
            ("approvers", "gin", "approver_user_ids"),
        ):
            cur.execute(
                sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} USING " + using + " (" + cols + ")")
                .format(sql.Identifier(f"{self.table}_{suffix}_idx"), self._t)
            )  # fmt: skip

    def drop_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """Drop the table (used when a rebuild is thrown away)."""
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._t))

    def apply(self, cur: psycopg.Cursor[Any], domain_event: Any, position: int) -> None:
        """Apply one approval event."""
        handler = self._handlers.get(type(domain_event))
        if handler is not None:
            handler(cur, domain_event, position)

    def _requested(self, cur: psycopg.Cursor[Any], e: Any, position: int) -> None:
        subject = jsonable(e.subject)
        cur.execute(
            sql.SQL(
                "INSERT INTO {} (approval_id, requested_by, title, description, status, subject,"
                " subject_type, run_id, approver_user_ids, approver_roles, quorum,"
                " allow_self_approval, on_expiry, payload, expires_at, created_at, updated_at,"
                " version, position) VALUES (%s, %s, %s, %s, 'pending', %s, %s, %s, %s, %s, %s,"
                " %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
            ).format(self._t),
            (
                e.originator_id, e.requested_by, e.title, e.description, Jsonb(subject),
                subject.get("type", "custom"), subject.get("run_id"), list(e.approver_user_ids),
                list(e.approver_roles), e.quorum, e.allow_self_approval, e.on_expiry,
                Jsonb(jsonable(e.payload)), e.expires_at, e.timestamp, e.timestamp,
                e.originator_version, position,
            ),
        )  # fmt: skip

    def _voted(self, cur: psycopg.Cursor[Any], e: Any, position: int) -> None:
        decision = {
            "user_id": str(e.user_id),
            "decision": e.decision,
            "comment": e.comment,
            "decided_at": jsonable(e.timestamp),
        }
        cur.execute(
            sql.SQL(
                "UPDATE {} SET voters = array_append(voters, %s), decisions = decisions || %s,"
                " approvals_count = approvals_count + %s, updated_at = %s, version = %s,"
                " position = %s WHERE approval_id = %s"
            ).format(self._t),
            (
                e.user_id, Jsonb([decision]), 1 if e.decision == "approve" else 0, e.timestamp,
                e.originator_version, position, e.originator_id,
            ),
        )  # fmt: skip

    def _decide(
        self, cur: psycopg.Cursor[Any], e: Any, position: int, status: str, outcome: Any
    ) -> None:
        cur.execute(
            sql.SQL(
                "UPDATE {} SET status = %s, outcome = %s, decided_at = %s, updated_at = %s,"
                " version = %s, position = %s WHERE approval_id = %s"
            ).format(self._t),
            (
                status, outcome, e.timestamp, e.timestamp, e.originator_version, position,
                e.originator_id,
            ),
        )  # fmt: skip


class ApprovalQueries:
    """Queries on the approvals table; each sees only what the caller may see."""

    def __init__(self, pool: ConnectionPool[Any], table: str = "approvals") -> None:
        self._pool = pool
        self._t = sql.Identifier(table)
        self.name = table  # the read model a query waits for (read-your-writes)

    def list(
        self,
        user_id: UUID,
        role: str,
        filters: dict[str, Any],
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """Approvals the user may see, newest first. ``filters``: ``status`` (None: all),
        ``mine`` (``requested`` | ``to_decide``), ``subject_type``, ``run_id``."""
        where: list[str] = []
        params: list[Any] = []
        mine = filters.get("mine")
        if mine == "requested":
            where.append("requested_by = %s")
            params.append(user_id)
        elif mine == "to_decide":
            where.append(
                "status = 'pending' AND " + _ELIGIBLE + " AND NOT %s = ANY(voters)"
                " AND (requested_by <> %s OR allow_self_approval)"
            )
            params += [user_id, role, role, user_id, user_id]
        elif role != "admin":
            where.append("(requested_by = %s OR " + _ELIGIBLE + ")")
            params += [user_id, user_id, role, role]
        for column in ("status", "subject_type", "run_id"):
            if filters.get(column) is not None:
                where.append(column + " = %s")
                params.append(filters[column])
        condition = sql.SQL(" AND ".join(where) or "true")
        query = sql.SQL(
            "SELECT *, count(*) OVER () AS total FROM {} WHERE {}"
            " ORDER BY created_at DESC, approval_id LIMIT %s OFFSET %s"
        ).format(self._t, condition)
        count = sql.SQL("SELECT count(*) FROM {} WHERE {}").format(self._t, condition)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            return page_of(cur, query, count, params, limit, offset)

    def get(self, approval_id: UUID) -> dict[str, Any] | None:
        """One approval's row, or None (who may see it is the caller's check)."""
        query = sql.SQL("SELECT * FROM {} WHERE approval_id = %s").format(self._t)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            row: dict[str, Any] | None = cur.execute(query, (approval_id,)).fetchone()
        return row

    def counts(self, owner_id: UUID | None) -> dict[str, int]:
        """How many approvals (requested by ``owner_id``; None: everyone's) are in each status."""
        where = sql.SQL("requested_by = %s" if owner_id else "true")
        query = sql.SQL("SELECT status, count(*) FROM {} WHERE {} GROUP BY 1").format(
            self._t, where
        )
        with self._pool.connection() as conn:
            rows = conn.execute(query, (owner_id,) if owner_id else ()).fetchall()
        return {str(status): int(n) for status, n in rows}

    def stream(self, owner_id: UUID | None, columns: tuple[str, ...]) -> Any:
        """Every approval (requested by ``owner_id``; None: everyone's), oldest first, as rows of
        ``columns`` (a server-side cursor: never all in memory)."""
        where = sql.SQL("requested_by = %s" if owner_id else "true")
        query = sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY created_at, approval_id").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)), self._t, where
        )
        with (
            self._pool.connection() as conn,
            conn.transaction(),
            conn.cursor(name="approval_export") as cur,
        ):
            cur.itersize = 2000
            cur.execute(query, [owner_id] if owner_id else [])
            yield from cur
