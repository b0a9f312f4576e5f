"""The audit query: events of the whole log filtered by actor, aggregate, type, correlation, time.

Reads the event store directly (the log is the record auditors trust), filtering in SQL on the
stored JSON, and answers public envelopes paginated by position.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification
from psycopg import sql
from psycopg_pool import ConnectionPool

from projections.envelope import envelope
from projections.event_feed import like_pattern

_STATE = sql.SQL("convert_from(state, 'UTF8')::jsonb")


@dataclass(frozen=True)
class AuditFilter:
    """What an auditor asks for; every field is optional."""

    actor: str | None = None
    aggregate_id: UUID | None = None
    types: tuple[str, ...] = ()
    correlation_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class AuditLog:
    """Pages of public envelopes from the event log, in position order."""

    def __init__(self, pool: ConnectionPool[Any], table: str, mapper: Mapper[Any]) -> None:
        self._pool = pool
        self._t = sql.Identifier(table)
        self._mapper = mapper

    def page(self, where: AuditFilter, after: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
        """Up to ``limit`` matching envelopes after ``after``, and whether more follow."""
        rows = self._select(where, after, limit + 1)
        return [self._envelope(r) for r in rows[:limit]], len(rows) > limit

    def page_at(
        self, where: AuditFilter, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], bool]:
        """Up to ``limit`` matching envelopes skipping the first ``offset`` (002's admin audit)."""
        rows = self._select(where, 0, limit + 1, offset)
        return [self._envelope(r) for r in rows[:limit]], len(rows) > limit

    def stream(
        self, where: AuditFilter, after: int = 0, batch: int = 500
    ) -> Iterator[dict[str, Any]]:
        """Every matching envelope after ``after``, fetched ``batch`` at a time."""
        while True:
            rows = self._select(where, after, batch)
            for row in rows:
                yield self._envelope(row)
            if len(rows) < batch:
                return
            after = int(rows[-1][0])

    def _select(
        self, where: AuditFilter, after: int, limit: int, offset: int = 0
    ) -> list[tuple[Any, ...]]:
        conditions: list[sql.Composable] = [sql.SQL("notification_id > %s")]
        params: list[Any] = [after]
        for clause, value in (
            (sql.SQL("originator_id = %s"), where.aggregate_id),
            (sql.SQL("({} -> 'meta' ->> 'actor') = %s").format(_STATE), where.actor),
            (
                sql.SQL("({} -> 'meta' ->> 'correlation_id') = %s").format(_STATE),
                where.correlation_id,
            ),
            (
                sql.SQL("({} -> 'timestamp' ->> '_data_')::timestamptz >= %s").format(_STATE),
                where.since,
            ),
            (
                sql.SQL("({} -> 'timestamp' ->> '_data_')::timestamptz < %s").format(_STATE),
                where.until,
            ),
        ):
            if value is not None:
                conditions.append(clause)
                params.append(value)
        if where.types:
            conditions.append(sql.SQL("topic LIKE ANY(%s)"))
            params.append([like_pattern(t) for t in where.types])
        query = sql.SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {}"
            " WHERE {} ORDER BY notification_id LIMIT %s OFFSET %s"
        ).format(self._t, sql.SQL(" AND ").join(conditions))
        with self._pool.connection() as conn:
            return list(conn.execute(query, (*params, limit, offset)).fetchall())

    def _envelope(self, row: tuple[Any, ...]) -> dict[str, Any]:
        position, originator_id, version, topic, state = row
        notification = Notification(
            id=position,
            originator_id=originator_id,
            originator_version=version,
            topic=topic,
            state=bytes(state),
        )
        return envelope(self._mapper.to_domain_event(notification), position)
