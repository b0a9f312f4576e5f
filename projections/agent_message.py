"""The agent messages read model: one row per message, and the queries of /api/v1/messages."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from domain.agent_message import AgentMessage
from projections.conversation import Page
from projections.row_batch import Change, Insert, Set
from projections.table import TableProjection, page_of


class AgentMessageProjection(TableProjection):
    """Projects agent messages into ``agent_messages``."""

    key = "message_id"
    topics: tuple[str, ...] = (AgentMessage.Created.TOPIC, AgentMessage.Read.TOPIC)

    def __init__(self, table: str = "agent_messages", name: str | None = None) -> None:
        super().__init__(table, name)

    def create_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """Create the table, indexed by owner and time."""
        self._create(
            cur,
            "message_id uuid PRIMARY KEY, owner_id uuid NOT NULL, sender_agent_id uuid NOT NULL,"
            " recipient_agent_id uuid NOT NULL, channel text NOT NULL, subject text NOT NULL,"
            " body text NOT NULL, read_at timestamptz, created_at timestamptz NOT NULL,"
            " position bigint NOT NULL",
            "owner_id, created_at DESC",
        )

    def apply(self, cur: psycopg.Cursor[Any], domain_event: Any, position: int) -> None:
        """Apply one event."""
        self.apply_batch(cur, [(position, domain_event)])

    def change_of(self, e: Any, position: int) -> Change | None:
        """What one event does to its message's row."""
        if isinstance(e, AgentMessage.Created):
            fields = ("owner_id", "sender_agent_id", "recipient_agent_id", "channel", "subject")
            row = {
                "message_id": e.originator_id,
                **{f: getattr(e, f) for f in (*fields, "body")},
                "read_at": None,
                "created_at": e.timestamp,
                "position": position,
            }
            return Insert(e.originator_id, row)
        if isinstance(e, AgentMessage.Read):
            return Set(e.originator_id, {"read_at": e.read_at, "position": position})
        return None


class AgentMessageQueries:
    """The owner's agent messages, newest first."""

    def __init__(self, pool: ConnectionPool[Any], table: str = "agent_messages") -> None:
        self._pool = pool
        self._t = sql.Identifier(table)
        self.name = table

    def page(
        self,
        owner_id: UUID,
        agent_id: UUID | None = None,
        channel: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page:
        """Messages sent or received by ``agent_id`` (any when None) on ``channel``."""
        where: list[sql.Composable] = [sql.SQL("owner_id = %s")]
        params: list[Any] = [owner_id]
        if agent_id is not None:
            where.append(sql.SQL("(sender_agent_id = %s OR recipient_agent_id = %s)"))
            params += [agent_id, agent_id]
        if channel is not None:
            where.append(sql.SQL("channel = %s"))
            params.append(channel)
        condition = sql.SQL(" AND ").join(where)
        query = sql.SQL(
            "SELECT *, count(*) OVER () AS total FROM {} WHERE {}"
            " ORDER BY created_at DESC, message_id LIMIT %s OFFSET %s"
        ).format(self._t, condition)
        count = sql.SQL("SELECT count(*) FROM {} WHERE {}").format(self._t, condition)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            return Page(*page_of(cur, query, count, params, limit, offset))
