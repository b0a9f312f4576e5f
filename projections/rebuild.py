"""Rebuild a projection from the log into new tables while the old ones serve, then swap.

1. Build: a copy of the projection writes into ``<table>_rebuild`` with its own tracking row
   ``<name>_rebuild``, batch by batch (exactly once, like any runner). Interrupted, it resumes from
   that row; the old table is untouched and keeps serving.
2. Swap, in ONE transaction: lock both tracking rows (the live runner waits), bring the one that is
   behind to the other's position, compare the two tables at that same position, rename the new
   table (and its indexes) into place, drop the old one, and give the live tracking row the
   position of the new table. The live runner then continues on the new table.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from eventsourcing.persistence import ApplicationRecorder, Mapper
from psycopg import sql

from projections.read_ahead import ReadAhead
from projections.runner import Projection, ProjectionRunner, apply_events

SUFFIX = "_rebuild"
DEFAULT_BATCH_SIZE = 10_000
TRACKED = "SELECT position FROM ledgerflow_tracking WHERE name = %s"
TRACKED_FOR_UPDATE = TRACKED + " FOR UPDATE"


class RebuildRaced(Exception):
    """Another rebuild of the same projection moved the new table's position meanwhile."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} was moved by another rebuild; run one rebuild at a time")


@dataclass(frozen=True)
class Progress:
    """Where a rebuild is: its position, the log head, and its rate so far."""

    position: int
    head: int
    applied: int
    seconds: float

    @property
    def rate(self) -> float:
        """Events per second since the build started."""
        return self.applied / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Swapped:
    """The outcome of the swap: the position both tables were compared at, and whether they
    held the same rows."""

    position: int
    identical: bool
    old_rows: int
    new_rows: int


class Rebuild:
    """Rebuilds one projection (one table) of ``live`` alongside it."""

    def __init__(
        self,
        conninfo: str,
        live: Projection,
        recorder: ApplicationRecorder,
        mapper: Mapper[Any],
        events_channel: str,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self.live = live
        self.table: str = getattr(live, "table", live.name)
        self.fresh: Projection = type(live)(  # type: ignore[call-arg]
            table=self.table + SUFFIX, name=live.name + SUFFIX
        )
        self._recorder = recorder
        self._mapper = mapper
        self._batch_size = batch_size
        self._runner = ProjectionRunner(
            conninfo, self.fresh, recorder, mapper, events_channel, batch_size
        )

    def build(
        self,
        conn: psycopg.Connection[Any],
        progress: Callable[[Progress], None] = lambda _: None,
        max_batches: int | None = None,
    ) -> Progress:
        """Apply the log to the new table up to the head (or ``max_batches`` batches).

        A thread reads and decodes the next batch while this one is applied; each batch is
        applied with the projection's batch path and committed with its position.
        """
        self._runner.setup(conn)
        started, applied, batches = time.perf_counter(), 0, 0
        position = head = self._tracked(conn)
        while max_batches is None or batches < max_batches:
            head = self._recorder.max_notification_id() or 0
            if position >= head:
                break
            with ReadAhead(self._batches(position, head)) as ahead:
                for end, events in ahead:
                    self._commit(conn, position, end, events)
                    applied, position, batches = applied + end - position, end, batches + 1
                    elapsed = time.perf_counter() - started
                    progress(Progress(position, head, applied, elapsed))
                    if batches == max_batches:
                        break
        return Progress(position, max(head, position), applied, time.perf_counter() - started)

    def _batches(self, position: int, head: int) -> Iterator[tuple[int, list[tuple[int, Any]]]]:
        """The decoded events after ``position`` up to ``head``, batch by batch, each with the
        position the batch brings the table to."""
        size = self._batch_size
        while position < head:
            notifications = self._recorder.select_notifications(
                start=position + 1, stop=head, limit=size, topics=self.fresh.topics
            )
            # Commit order equals id order: fewer rows than asked for means all up to ``head``.
            end = notifications[-1].id if len(notifications) == size else head
            yield end, [(n.id, self._mapper.to_domain_event(n)) for n in notifications]
            position = end

    def _commit(
        self, conn: psycopg.Connection[Any], position: int, end: int, events: list[tuple[int, Any]]
    ) -> None:
        with conn.transaction(), conn.cursor() as cur:
            # Derived data committed with its position: a lost tail is simply applied again.
            cur.execute("SET LOCAL synchronous_commit = off")
            if self._tracked(conn, lock=True) != position:
                raise RebuildRaced(self.fresh.name)
            apply_events(cur, self.fresh, events)
            cur.execute(
                "UPDATE ledgerflow_tracking SET position = %s, updated_at = now() WHERE name = %s",
                (end, self.fresh.name),
            )

    def _tracked(self, conn: psycopg.Connection[Any], lock: bool = False) -> int:
        query = TRACKED_FOR_UPDATE if lock else TRACKED
        row = conn.execute(query, (self.fresh.name,)).fetchone()
        return int(row[0]) if row else 0

    def swap(self, conn: psycopg.Connection[Any]) -> Swapped:
        """Compare at one position and put the new table in place of the old, atomically."""
        with conn.transaction():
            positions = dict(
                conn.execute(
                    "SELECT name, position FROM ledgerflow_tracking WHERE name = ANY(%s)"
                    " ORDER BY name FOR UPDATE",
                    ([self.live.name, self.fresh.name],),
                ).fetchall()
            )
            target = max(positions.values())
            for projection in (self.live, self.fresh):
                self._advance(conn, projection, positions[projection.name], target)
            old, new = self._digest(conn, self.table), self._digest(conn, self.fresh_table)
            self._rename(conn)
            conn.execute(
                "UPDATE ledgerflow_tracking SET position = %s, updated_at = now() WHERE name = %s",
                (target, self.live.name),
            )
            conn.execute("DELETE FROM ledgerflow_tracking WHERE name = %s", (self.fresh.name,))
        return Swapped(target, old == new, old[0], new[0])

    @property
    def fresh_table(self) -> str:
        """The name of the table being built."""
        return self.table + SUFFIX

    def _advance(
        self, conn: psycopg.Connection[Any], projection: Projection, position: int, target: int
    ) -> None:
        """Apply the events after ``position`` up to exactly ``target`` (the other table's)."""
        with conn.cursor() as cur:
            while position < target:
                notifications = self._recorder.select_notifications(
                    start=position + 1, stop=target, limit=1000, topics=projection.topics
                )
                events = [(n.id, self._mapper.to_domain_event(n)) for n in notifications]
                apply_events(cur, projection, events)
                position = notifications[-1].id if len(notifications) == 1000 else target
            cur.execute(
                "UPDATE ledgerflow_tracking SET position = %s WHERE name = %s",
                (target, projection.name),
            )

    @staticmethod
    def _digest(conn: psycopg.Connection[Any], table: str) -> tuple[int, str]:
        row = conn.execute(
            sql.SQL(
                "SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '')"
                " FROM {} t"
            ).format(sql.Identifier(table))
        ).fetchone()
        assert row is not None
        return int(row[0]), str(row[1])

    def _rename(self, conn: psycopg.Connection[Any]) -> None:
        old, new = self.table, self.fresh_table
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(old)))
        conn.execute(
            sql.SQL("ALTER TABLE {} RENAME TO {}").format(sql.Identifier(new), sql.Identifier(old))
        )
        indexes = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s", (old,)
        ).fetchall()
        for (index,) in indexes:
            if index.startswith(new):
                conn.execute(
                    sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                        sql.Identifier(index), sql.Identifier(old + index[len(new) :])
                    )
                )
