"""The conversations read models: one row per live conversation, one per message, and their
queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from domain.conversation import Conversation
from projections.row_batch import Change, Delete, Insert, stamped
from projections.table import TableProjection, insert_row, page_of

CONVERSATION_COLUMNS = (
    "conversation_id uuid PRIMARY KEY, owner_id uuid NOT NULL, session_id text NOT NULL,"
    " title text NOT NULL,"
    " message_count integer NOT NULL, last_message_at timestamptz, created_at timestamptz NOT NULL,"
    " updated_at timestamptz NOT NULL, version integer NOT NULL, position bigint NOT NULL"
)


class ConversationProjection(TableProjection):
    """Projects conversation events into ``conversations``."""

    key = "conversation_id"
    topics = tuple(
        cls.TOPIC
        for cls in (Conversation.Created, Conversation.MessagePosted, Conversation.Deleted)
    )

    def __init__(self, table: str = "conversations", name: str | None = None) -> None:
        super().__init__(table, name)

    def create_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """Create the table, indexed by owner and recency."""
        self._create(
            cur,
            CONVERSATION_COLUMNS,
            "owner_id, updated_at DESC",
        )

    def apply(self, cur: psycopg.Cursor[Any], domain_event: Any, position: int) -> None:
        """Apply one conversation event."""
        self.apply_batch(cur, [(position, domain_event)])

    def change_of(self, e: Any, position: int) -> Change | None:
        """What one event does to its conversation's row."""
        if isinstance(e, Conversation.Created):
            row = {
                "conversation_id": e.originator_id,
                "owner_id": e.owner_id,
                "session_id": e.session_id,
                "title": e.title,
                "message_count": 0,
                "last_message_at": None,
                "created_at": e.timestamp,
                "updated_at": e.timestamp,
                "version": e.originator_version,
                "position": position,
            }
            return Insert(e.originator_id, row)
        if isinstance(e, Conversation.MessagePosted):
            # Every event after the first is a message, until the conversation is deleted.
            values = {"message_count": e.originator_version - 1, "last_message_at": e.timestamp}
            return stamped(e, position, values)
        if isinstance(e, Conversation.Deleted):
            return Delete(e.originator_id)
        return None


class MessageProjection:
    """Projects conversation messages into ``conversation_messages`` (deleted with their
    conversation)."""

    topics: tuple[str, ...] = (Conversation.MessagePosted.TOPIC, Conversation.Deleted.TOPIC)

    def __init__(self, table: str = "conversation_messages", name: str | None = None) -> None:
        self.table = table
        self.name = name or table
        self._t = sql.Identifier(table)

    def create_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """Create the table, indexed by conversation in order."""
        cur.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (message_id uuid PRIMARY KEY,"
                " conversation_id uuid NOT NULL, role text NOT NULL,"
                " content text NOT NULL, intent text NOT NULL, task_ids uuid[] NOT NULL,"
                " created_at timestamptz NOT NULL, position bigint NOT NULL)"
            ).format(self._t)
        )
        cur.execute(
            sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (conversation_id, position)").format(
                sql.Identifier(f"{self.table}_conversation_idx"), self._t
            )
        )

    def drop_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """Drop the table (a rebuild thrown away)."""
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._t))

    def apply(self, cur: psycopg.Cursor[Any], e: Any, position: int) -> None:
        """Apply one event."""
        if isinstance(e, Conversation.MessagePosted):
            row = {
                "message_id": e.message_id,
                "conversation_id": e.originator_id,
                "role": e.role,
                "content": e.content,
                "intent": e.intent,
                "task_ids": list(e.task_ids),
                "created_at": e.timestamp,
                "position": position,
            }
            insert_row(cur, self._t, row)
        elif isinstance(e, Conversation.Deleted):
            cur.execute(
                sql.SQL("DELETE FROM {} WHERE conversation_id = %s").format(self._t),
                (e.originator_id,),
            )


@dataclass(frozen=True)
class Page:
    """One page of rows and how many there are in all."""

    rows: list[dict[str, Any]]
    total: int


class _Rows:
    """Pages of one table's rows with ``column = value``, in ``order``."""

    column: str
    order: str

    def __init__(self, pool: ConnectionPool[Any], table: str) -> None:
        self._pool = pool
        self._t = sql.Identifier(table)
        self.name = table  # the read model a query waits for (read-your-writes)

    def page(self, value: UUID, limit: int = 50, offset: int = 0) -> Page:
        """One page of the rows whose ``column`` is ``value``, and their count."""
        where = sql.SQL("FROM {} WHERE {} = %s").format(self._t, sql.Identifier(self.column))
        query = sql.SQL("SELECT *, count(*) OVER () AS total {} ORDER BY {} LIMIT %s OFFSET %s")
        count = sql.SQL("SELECT count(*) {}").format(where)
        order = sql.SQL(self.order)  # a constant of the subclass, never input
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            found = page_of(cur, query.format(where, order), count, [value], limit, offset)
            return Page(*found)


class ConversationQueries(_Rows):
    """The caller's conversations, most recently active first (``page(owner_id)``)."""

    column, order = "owner_id", "updated_at DESC, conversation_id"

    def __init__(self, pool: ConnectionPool[Any], table: str = "conversations") -> None:
        super().__init__(pool, table)


class MessageQueries(_Rows):
    """The messages of one conversation, oldest first (``page(conversation_id)``)."""

    column, order = "conversation_id", "position"

    def __init__(self, pool: ConnectionPool[Any], table: str = "conversation_messages") -> None:
        super().__init__(pool, table)

    def by_ids(self, message_ids: list[UUID]) -> list[dict[str, Any]]:
        """The messages of these ids, in order."""
        query = sql.SQL("SELECT * FROM {} WHERE message_id = ANY(%s) ORDER BY position").format(
            self._t
        )
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            rows: list[dict[str, Any]] = cur.execute(query, (message_ids,)).fetchall()
            return rows
