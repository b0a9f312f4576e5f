"""Numbers over the runs read model for the analytics and exports (``interfaces/features/
flows.py``): what a window of days saw, and every run streamed for an export."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg_pool import ConnectionPool

from projections.table import stream_rows

ENDED = ("succeeded", "failed", "cancelled")
_IN_WINDOW = "{column} >= %(start)s AND {column} < %(end)s"
# Started in the window, then ended in it by outcome (one pass over the owner's runs).
COUNTS = ", ".join(
    f"count(*) FILTER (WHERE {condition})"
    for condition in (
        _IN_WINDOW.format(column="started_at"),
        *(f"status = '{s}' AND " + _IN_WINDOW.format(column="completed_at") for s in ENDED),
    )
)


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The UTC instants a window of days starts at and ends before."""
    start = datetime.combine(first, time(), UTC)
    return start, datetime.combine(last + timedelta(days=1), time(), UTC)


class RunNumbers:
    """Counts and exports of the runs table; each sees the owner's runs (everyone's for None)."""

    def __init__(self, pool: ConnectionPool[Any], table: str = "runs") -> None:
        self._pool = pool
        self._t = sql.Identifier(table)
        self.name = table  # the read model these wait for

    def overview(self, owner_id: UUID | None, first: date, last: date) -> dict[str, Any]:
        """Runs started in the window, and those that ended in it by outcome, with the share
        of the ended ones that succeeded."""
        start, end = day_bounds(first, last)
        mine = " AND owner_id = %(owner)s" if owner_id else ""
        text = "SELECT " + COUNTS + " FROM {} WHERE created_at < %(end)s" + mine  # noqa: S608
        query = sql.SQL(text).format(self._t)  # COUNTS and mine: this module's literals
        with self._pool.connection() as conn:
            found = conn.execute(query, {"start": start, "end": end, "owner": owner_id}).fetchone()
        started, succeeded, failed, cancelled = (int(n) for n in found or (0, 0, 0, 0))
        ended = succeeded + failed + cancelled
        return {
            "started": started,
            "succeeded": succeeded,
            "failed": failed,
            "cancelled": cancelled,
            "success_rate": round(succeeded / ended, 4) if ended else 0.0,
        }

    def stream(self, owner_id: UUID | None, columns: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        """Every run of the owner (of everyone when None), oldest first, streamed."""
        return stream_rows(self._pool, self._t, columns, owner_id, ("created_at", "run_id"))
