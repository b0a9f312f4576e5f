"""The projection runner: follows the event log and keeps one read model current.

Exactly once: each batch of events is applied and the tracking position advanced in ONE
transaction, so a crash anywhere leaves either the whole batch or none of it. Woken through the
process's ``LogReader`` (LISTEN/NOTIFY on the events table), it also polls on a timeout so it never
stalls silently. One runner per projection is active at a time (a Postgres advisory lock); others
wait on standby. After each commit it NOTIFYs ``PROJECTION_CHANNEL`` with ``name:position`` so
queries waiting for read-your-writes wake at once. Several projections of one process run together
in a ``ProjectionGroup`` (``projections/group.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

import psycopg
from eventsourcing.persistence import ApplicationRecorder, Mapper

from projections.follower import (
    CONNECTION_ERRORS,
    FollowerStuck,
    LogFollower,
    RunnerStatus,
    take_lock,
)
from projections.log_reader import Logged, LogReader
from projections.schema import (
    PROJECTION_CHANNEL,
    Stuck,
    ensure_tracking_table,
    progress_message,
    record_stuck,
    skipped,
)

log = logging.getLogger(__name__)

__all__ = ["CONNECTION_ERRORS", "Projection", "ProjectionRunner", "RunnerStatus", "apply_events"]


class Projection(Protocol):
    """A read model: the tables it owns and how each event type changes them."""

    name: str
    topics: tuple[str, ...]

    def create_tables(self, cur: psycopg.Cursor[Any]) -> None: ...

    def apply(self, cur: psycopg.Cursor[Any], domain_event: Any, position: int) -> None: ...


def reader_for(
    conninfo: str,
    recorder: ApplicationRecorder,
    mapper: Mapper[Any],
    events_channel: str,
    poll_interval: float = 1.0,
) -> LogReader:
    """A LogReader over the recorder's events table."""
    table: str = recorder.events_table_name  # type: ignore[attr-defined]
    return LogReader(conninfo, mapper, table, events_channel, poll_interval=poll_interval)


class ProjectionRunner(LogFollower):
    """Applies new events to one projection, batch by batch, in its own thread (or as a member of
    a group). Without a ``reader`` it reads the log through one of its own."""

    def __init__(
        self,
        conninfo: str,
        projection: Projection,
        recorder: ApplicationRecorder,
        mapper: Mapper[Any],
        events_channel: str,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        reader: LogReader | None = None,
    ) -> None:
        own = reader is None
        reader = reader or reader_for(conninfo, recorder, mapper, events_channel, poll_interval)
        super().__init__(conninfo, reader, batch_size, poll_interval, owns_reader=own)
        self.projection = projection
        self._recorder = recorder
        self.name = f"projection-{projection.name}"
        self.position = 0
        self.head = 0
        self.active = False
        self.locked = False
        self.last_error: str | None = None

    def status(self) -> RunnerStatus:
        """Position as last committed by the runner, and the head of the log now."""
        head = max(self.head, self.position, self._recorder.max_notification_id() or 0)
        return RunnerStatus(self.projection.name, self.position, head, self.active, self.last_error)

    def _failed(self, error: str) -> None:
        self.active = False
        self.locked = False
        self.last_error = error
        super()._failed(error)

    def _serve(self) -> None:
        self.locked = False
        super()._serve()

    def _prepare(self, conn: psycopg.Connection[Any]) -> bool:
        if not self.locked:
            self.setup(conn)
            self.locked = self.active = take_lock(conn, self.projection.name)
            if self.locked:
                self.last_error = None
        return self.locked

    # The work

    def setup(self, conn: psycopg.Connection[Any]) -> None:
        """Create the tracking row and the projection's tables if they are missing."""
        with conn.transaction(), conn.cursor() as cur:
            ensure_tracking_table(cur)
            cur.execute(
                "INSERT INTO ledgerflow_tracking (name, position) VALUES (%s, 0)"
                " ON CONFLICT (name) DO NOTHING",
                (self.projection.name,),
            )
            self.projection.create_tables(cur)

    def catch_up(self, conn: psycopg.Connection[Any]) -> int:
        """Apply every event recorded so far; return how far the position moved."""
        self.setup(conn)
        total = 0
        while applied := self.process_batch(conn):
            total += applied
        return total

    def process_batch(self, conn: psycopg.Connection[Any]) -> int:
        """Apply the next batch and advance the position in one transaction; when the batch
        fails, apply it event by event to find the event that cannot be applied (FollowerStuck).

        Returns how far the position moved (0 when caught up).
        """
        transient = getattr(self.projection, "transient_errors", ())
        try:
            return self._apply_batch(conn)
        except (*CONNECTION_ERRORS, *transient):
            raise
        except Exception as error:
            log.warning("%s: %s; applying the batch event by event", self.name, error)
            return self._apply_one_by_one(conn)

    def _apply_one_by_one(self, conn: psycopg.Connection[Any]) -> int:
        name, stuck = self.projection.name, None
        with conn.transaction(), conn.cursor() as cur:
            position = _locked_position(cur, name)
            done = position
            for e in self.reader.read_after(conn, position, self._batch_size):
                try:
                    with conn.transaction():  # a savepoint: a failure undoes this event only
                        apply_events(cur, self.projection, follows(self.projection, [e]))
                except CONNECTION_ERRORS:
                    raise
                except Exception as error:
                    if e.position not in skipped(cur, name, done):
                        stuck = Stuck(e.position, e.topic, f"{type(error).__name__}: {error}")
                        break
                    log.warning("%s: skipping position %d as told", name, e.position)
                done = e.position
            cur.execute(
                "UPDATE ledgerflow_tracking SET position = %s, updated_at = now() WHERE name = %s",
                (done, name),
            )
            record_stuck(cur, name, stuck)
            cur.execute(
                "SELECT pg_notify(%s, %s)", (PROJECTION_CHANNEL, progress_message([name], done))
            )
        self.position = done
        if stuck is not None:
            self.last_error = f"stuck at position {stuck.position} ({stuck.type}): {stuck.error}"
            log.error("%s: %s", self.name, self.last_error)
            raise FollowerStuck(name, stuck)
        return done - position

    def _apply_batch(self, conn: psycopg.Connection[Any]) -> int:
        name = self.projection.name
        with conn.transaction(), conn.cursor() as cur:
            position = _locked_position(cur, name)
            logged = self.reader.read_after(conn, position, self._batch_size)
            if not logged:
                self.position = self.head = position
                return 0
            events = follows(self.projection, logged)
            apply_events(cur, self.projection, events)
            # Commit order equals id order: every event up to the last one read has been seen.
            new_position = logged[-1].position
            cur.execute(ADVANCE, (new_position, [name]))
            cur.execute(
                "SELECT pg_notify(%s, %s)",
                (PROJECTION_CHANNEL, progress_message([name], new_position, [name] * bool(events))),
            )
        self.position = self.head = new_position
        return new_position - position


# Moving past a batch also clears what was recorded about an event that could not be applied.
ADVANCE = (
    "UPDATE ledgerflow_tracking SET position = %s, updated_at = now(), stuck_position = NULL,"
    " stuck_type = NULL, stuck_error = NULL, stuck_at = NULL WHERE name = ANY(%s)"
)


def _locked_position(cur: psycopg.Cursor[Any], name: str) -> int:
    row = cur.execute(
        "SELECT position FROM ledgerflow_tracking WHERE name = %s FOR UPDATE", (name,)
    ).fetchone()
    return int(row[0]) if row else 0


def follows(
    projection: Projection, logged: Sequence[Logged], after: int = 0
) -> list[tuple[int, Any]]:
    """The ``(position, event)`` pairs after ``after`` whose type the projection follows."""
    topics = projection.topics
    return [
        (e.position, e.event)
        for e in logged
        if e.position > after and (not topics or e.topic in topics)
    ]


def apply_events(
    cur: psycopg.Cursor[Any], projection: Projection, events: list[tuple[int, Any]]
) -> None:
    """Apply ``(position, event)`` pairs in order: through the projection's ``apply_batch``
    when it has one (a few statements for the whole batch), else one ``apply`` per event in a
    pipeline. A projection that writes outside the database (the relay) flushes at the end,
    before the caller commits."""
    if (batch := getattr(projection, "apply_batch", None)) is not None:
        if events:
            batch(cur, events)
    else:
        with cur.connection.pipeline():
            for position, event in events:
                projection.apply(cur, event, position)
    if flush := getattr(projection, "flush", None):
        flush()
