"""The event feed read model: every event with its envelope and its reader, by position.

``GET /api/v1/events`` and the WebSocket catch-up read it: one indexed query returns the events a
user may read after a position, filtered by type patterns (``task.*``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from domain.event_pattern import TypeMatcher
from projections.envelope import envelope
from projections.readers import Owners, ReaderRules


def like_pattern(pattern: str) -> str:
    """An fnmatch-style pattern (``*`` any run of characters) as a SQL LIKE pattern.

    Runs of ``*`` become one ``%``: PostgreSQL's LIKE then works in O(pattern * text)."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return re.sub(r"\*+", "%", escaped)


def type_matcher(patterns: Sequence[str]) -> TypeMatcher:
    """What ``like_pattern`` matches in SQL (``*`` is the only wildcard), in linear time."""
    return TypeMatcher(patterns)


class EventFeedProjection:
    """Projects every event into ``<name>`` (envelope and reader) and ``<name>_owners``."""

    topics: tuple[str, ...] = ()  # every event

    def __init__(self, rules: ReaderRules, name: str = "event_feed") -> None:
        self.name = name
        self._t = sql.Identifier(name)
        self._index = sql.Identifier(f"{name}_reader_position")
        self.owners = Owners(f"{name}_owners", rules)
        self._insert = sql.SQL(
            "INSERT INTO {} VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING"
        ).format(self._t)

    def create_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """The feed table, its reader index and the owners table."""
        cur.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (position bigint PRIMARY KEY,"
                " reader_id uuid NOT NULL, type text NOT NULL, envelope jsonb NOT NULL)"
            ).format(self._t)
        )
        cur.execute(
            sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (reader_id, position)").format(
                self._index, self._t
            )
        )
        self.owners.create_table(cur)

    def apply(self, cur: psycopg.Cursor[Any], domain_event: Any, position: int) -> None:
        """Record the event for its reader (an event nobody may read is skipped)."""
        reader = self.owners.reader_of(cur, domain_event)
        if reader is None:
            return
        cur.execute(self._insert, self._row(domain_event, position, reader))

    def apply_batch(self, cur: psycopg.Cursor[Any], events: list[tuple[int, Any]]) -> None:
        """Record a batch of events in order: one owners lookup and one ``executemany``."""
        readers = self.owners.readers_of(cur, [event for _, event in events])
        rows = [
            self._row(event, position, reader)
            for (position, event), reader in zip(events, readers, strict=True)
            if reader is not None
        ]
        if rows:
            cur.executemany(self._insert, rows)

    @staticmethod
    def _row(domain_event: Any, position: int, reader: UUID) -> tuple[Any, ...]:
        out = envelope(domain_event, position)
        del out["event"]  # = type, which the row has: added back when read, never stored twice
        return (position, reader, out["type"], Jsonb(out))


@dataclass(frozen=True)
class FeedPage:
    """Events after a position, and where to continue from."""

    events: list[dict[str, Any]]
    next_after: int
    has_more: bool


class EventFeed:
    """Queries on the event feed read model."""

    def __init__(self, pool: ConnectionPool[Any], name: str = "event_feed") -> None:
        self._pool = pool
        self.name = name
        self._t = sql.Identifier(name)

    def read(
        self, reader: UUID, after: int, patterns: Sequence[str] = (), limit: int = 100
    ) -> FeedPage:
        """Up to ``limit`` events ``reader`` may read after ``after`` whose type (or a derived
        alias such as ``task.completed``, see event_alias.py) matches."""
        # Imported here: event_alias builds on this module's pattern functions.
        from projections.event_alias import EventMatcher

        matching, params = EventMatcher(patterns).sql()
        with self._pool.connection() as conn:
            tracked = self._tracked(conn)
            rows = conn.execute(
                sql.SQL(
                    "SELECT envelope FROM {} WHERE reader_id = %s AND position > %s"
                    " AND position <= %s AND {} ORDER BY position LIMIT %s"
                ).format(self._t, matching),
                (reader, after, tracked, *params, limit + 1),
            ).fetchall()
        events = [{**row[0], "event": row[0]["type"]} for row in rows[:limit]]
        if len(rows) > limit:
            return FeedPage(events, events[-1]["position"], True)
        # Everything up to the projection's position has been looked at: continue from there.
        return FeedPage(events, max(after, tracked), False)

    def _tracked(self, conn: psycopg.Connection[Any]) -> int:
        row = conn.execute(
            "SELECT position FROM ledgerflow_tracking WHERE name = %s", (self.name,)
        ).fetchone()
        return int(row[0]) if row else 0
