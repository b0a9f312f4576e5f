"""The projection runner: follows the event log and keeps one read model current.

Exactly once: each batch of events is applied and the tracking position advanced in ONE
transaction, so a crash anywhere leaves either the whole batch or none of it. Woken by the
event table's LISTEN/NOTIFY, it also polls on a timeout so it never stalls silently. One
runner per projection is active at a time (a Postgres advisory lock); others wait on standby.
After each commit it NOTIFYs ``PROJECTION_CHANNEL`` with ``name:position`` so queries waiting
for read-your-writes wake at once.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
from eventsourcing import persistence as es_persistence
from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification, PersistenceError
from psycopg import sql

from projections.schema import PROJECTION_CHANNEL, ensure_tracking_table, progress_message

log = logging.getLogger(__name__)
STOP_CHECK_INTERVAL = 0.1
# Failures of the connection itself: reconnect, rather than blame a projection.
CONNECTION_ERRORS = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    es_persistence.OperationalError,
    es_persistence.InterfaceError,
)


class Projection(Protocol):
    """A read model: the tables it owns and how each event type changes them."""

    name: str
    topics: tuple[str, ...]

    def create_tables(self, cur: psycopg.Cursor[Any]) -> None: ...

    def apply(self, cur: psycopg.Cursor[Any], domain_event: Any, position: int) -> None: ...


@dataclass(frozen=True)
class RunnerStatus:
    """What a runner reports: where it is, where the log is, and whether it is the active one."""

    name: str
    position: int
    head: int
    active: bool
    last_error: str | None

    @property
    def lag(self) -> int:
        """Events recorded but not yet applied."""
        return max(0, self.head - self.position)


class LogFollower:
    """The life of a thread that follows the event log: start, stop, reconnect, wake on news.

    Subclasses say what one pass does (``process_batch``) and what must hold before passes start
    (``_prepare``: tables, advisory locks).
    """

    name = "log-follower"

    def __init__(
        self,
        conninfo: str,
        recorder: ApplicationRecorder,
        mapper: Mapper[Any],
        events_channel: str,
        batch_size: int = 500,
        poll_interval: float = 1.0,
    ) -> None:
        self._conninfo = conninfo
        self._recorder = recorder
        self._mapper = mapper
        self._events_channel = events_channel
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # Lifecycle

    def start(self) -> None:
        """Run in a background thread until ``stop``."""
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the follower to finish its current batch and exit."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def run(self) -> None:
        """Keep following; reconnect after any database failure."""
        backoff = 0.2
        while not self._stop.is_set():
            try:
                self._serve()
                backoff = 0.2
            except (psycopg.Error, PersistenceError) as error:
                self._failed(str(error).strip() or type(error).__name__)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)

    def _failed(self, error: str) -> None:
        log.warning("%s: %s; retrying", self.name, error)

    def _serve(self) -> None:
        with (
            psycopg.connect(self._conninfo, autocommit=True) as work,
            psycopg.connect(self._conninfo, autocommit=True) as listen,
        ):
            # A read model is derived data committed with its own position: if the last commits
            # are lost in a crash, both roll back together and the events are applied again, so
            # exactly-once holds without waiting for each commit to reach the disk.
            work.execute("SET synchronous_commit = off")
            listen.execute(f'LISTEN "{self._events_channel}"')
            while not self._stop.is_set():
                if not self._prepare(work):
                    self._stop.wait(self._poll_interval * 2)
                elif self.process_batch(work) == 0:
                    self._wait_for_news(listen)

    def _prepare(self, conn: psycopg.Connection[Any]) -> bool:
        """Make ready for a pass; False to stand by (another process holds the work)."""
        return True

    def process_batch(self, conn: psycopg.Connection[Any]) -> int:
        """Do one pass; return how far the position moved (0 when caught up)."""
        raise NotImplementedError

    def _wait_for_news(self, listen: psycopg.Connection[Any]) -> None:
        # Wake on the first NOTIFY, or after the poll interval; in short slices so stop() is quick.
        waited = 0.0
        while waited < self._poll_interval and not self._stop.is_set():
            for _ in listen.notifies(timeout=STOP_CHECK_INTERVAL, stop_after=1):
                return
            waited += STOP_CHECK_INTERVAL


class ProjectionRunner(LogFollower):
    """Applies new events to one projection, batch by batch, in its own thread."""

    def __init__(
        self,
        conninfo: str,
        projection: Projection,
        recorder: ApplicationRecorder,
        mapper: Mapper[Any],
        events_channel: str,
        batch_size: int = 500,
        poll_interval: float = 1.0,
    ) -> None:
        super().__init__(conninfo, recorder, mapper, events_channel, batch_size, poll_interval)
        self.projection = projection
        self.name = f"projection-{projection.name}"
        self._position = 0
        self._head = 0
        self._active = False
        self._locked = False
        self._last_error: str | None = None

    def status(self) -> RunnerStatus:
        """Position, head and lag as last seen by the runner."""
        return RunnerStatus(
            self.projection.name, self._position, self._head, self._active, self._last_error
        )

    def _failed(self, error: str) -> None:
        self._active = False
        self._locked = False
        self._last_error = error
        super()._failed(error)

    def _serve(self) -> None:
        self._locked = False
        super()._serve()

    def _prepare(self, conn: psycopg.Connection[Any]) -> bool:
        if not self._locked:
            self.setup(conn)
            self._locked = self._active = take_lock(conn, self.projection.name)
            if self._locked:
                self._last_error = None
        return self._locked

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
        """Apply every event recorded so far; return how many were applied."""
        self.setup(conn)
        total = 0
        while applied := self.process_batch(conn):
            total += applied
        return total

    def process_batch(self, conn: psycopg.Connection[Any]) -> int:
        """Apply the next batch and advance the position in one transaction.

        Returns how far the position moved (0 when caught up).
        """
        head = self._recorder.max_notification_id() or 0
        self._head = head
        with conn.transaction(), conn.cursor() as cur:
            row = cur.execute(
                "SELECT position FROM ledgerflow_tracking WHERE name = %s FOR UPDATE",
                (self.projection.name,),
            ).fetchone()
            position = row[0] if row else 0
            if position >= head:
                self._position = position
                return 0
            notifications = self._recorder.select_notifications(
                start=position + 1,
                stop=head,
                limit=self._batch_size,
                topics=self.projection.topics,
            )
            apply_events(
                cur,
                self.projection,
                [(n.id, self._mapper.to_domain_event(n)) for n in notifications],
            )
            # Commit order equals id order (the writers' table lock), so when fewer rows than
            # the limit came back, every event up to ``head`` has been seen.
            full = len(notifications) == self._batch_size
            new_position = notifications[-1].id if full else head
            cur.execute(
                "UPDATE ledgerflow_tracking SET position = %s, updated_at = now() WHERE name = %s",
                (new_position, self.projection.name),
            )
            cur.execute(
                "SELECT pg_notify(%s, %s)",
                (PROJECTION_CHANNEL, progress_message([self.projection.name], new_position)),
            )
        self._position = new_position
        return new_position - position


class ProjectionGroup(LogFollower):
    """Keeps several projections current from ONE read of the log per batch.

    Every event is fetched and decoded once and applied to each member that has not seen it, in
    ONE transaction that also advances every member's own tracking row: the same exactly-once
    guarantee as a runner per projection, at a fraction of the round trips, threads and decoding.
    Each member still has its own advisory lock, so another process can hold some members while
    this one holds others. A member whose ``apply`` fails is set aside (with its error in its
    status) and retried after a back-off; the other members carry on without it.
    """

    name = "projection-group"

    def __init__(
        self,
        conninfo: str,
        members: list[ProjectionRunner],
        recorder: ApplicationRecorder,
        mapper: Mapper[Any],
        events_channel: str,
        events_table: str,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        claim_interval: float = 5.0,
    ) -> None:
        super().__init__(conninfo, recorder, mapper, events_channel, batch_size, poll_interval)
        self.members = members
        self._select = sql.SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {}"
            " WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        ).format(sql.Identifier(events_table))
        self._claim_interval = claim_interval
        self._claimed_at = 0.0
        self._set_aside: dict[str, tuple[float, float]] = {}  # name -> (until, back-off)

    def _failed(self, error: str) -> None:
        for member in self.members:
            member._failed(error)

    def _serve(self) -> None:
        for member in self.members:
            member._locked = member._active = False
        self._claimed_at = 0.0
        super()._serve()

    def _prepare(self, conn: psycopg.Connection[Any]) -> bool:
        # Members held by another process are claimed again now and then (it may have died).
        now = time.monotonic()
        if now - self._claimed_at >= self._claim_interval and not all(
            m._locked for m in self.members
        ):
            self._claimed_at = now
            for member in self.members:
                if not member._locked:
                    member._prepare(conn)
        return any(m._locked for m in self.members)

    def catch_up(self, conn: psycopg.Connection[Any]) -> int:
        """Claim what can be claimed and apply every event recorded so far; return how far the
        furthest-behind member moved."""
        self._claimed_at = 0.0
        self._prepare(conn)
        total = 0
        while moved := self.process_batch(conn):
            total += moved
        return total

    def _working(self) -> list[ProjectionRunner]:
        now = time.monotonic()
        return [
            m
            for m in self.members
            if m._locked and self._set_aside.get(m.projection.name, (0.0, 0.0))[0] <= now
        ]

    def process_batch(self, conn: psycopg.Connection[Any]) -> int:
        """Apply the next batch to every member behind, in one transaction; return how far the
        furthest-behind member moved (0 when all are caught up)."""
        members = self._working()
        if not members:
            return 0
        try:
            return self._apply_together(conn, members)
        except CONNECTION_ERRORS:
            raise
        except Exception as error:
            log.warning("projection group: %s; applying members one by one", error)
            return self._apply_apart(conn, members)

    def _apply_together(
        self, conn: psycopg.Connection[Any], members: list[ProjectionRunner]
    ) -> int:
        names = [m.projection.name for m in members]
        with conn.transaction(), conn.cursor() as cur:
            positions = dict(
                cur.execute(
                    "SELECT name, position FROM ledgerflow_tracking WHERE name = ANY(%s)"
                    " FOR UPDATE",
                    (names,),
                ).fetchall()
            )
            low = min(positions.get(name, 0) for name in names)
            rows = cur.execute(self._select, (low, self._batch_size)).fetchall()
            if not rows:
                for member in members:
                    member._position = member._head = positions.get(member.projection.name, 0)
                return 0
            events = [
                (row[0], row[3], self._mapper.to_domain_event(_notification(row))) for row in rows
            ]
            # Commit order equals id order (the writers' table lock): every event up to the last
            # one fetched has been seen.
            new_position = rows[-1][0]
            behind = [m for m in members if positions.get(m.projection.name, 0) < new_position]
            for member in behind:
                _apply_to(cur, member.projection, events, positions.get(member.projection.name, 0))
            cur.execute(
                "UPDATE ledgerflow_tracking SET position = %s, updated_at = now()"
                " WHERE name = ANY(%s)",
                (new_position, [m.projection.name for m in behind]),
            )
            moved = progress_message([m.projection.name for m in behind], new_position)
            cur.execute("SELECT pg_notify(%s, %s)", (PROJECTION_CHANNEL, moved))
        for member in behind:
            member._position = member._head = new_position
            member._last_error = None
        return int(new_position - low)

    def _apply_apart(self, conn: psycopg.Connection[Any], members: list[ProjectionRunner]) -> int:
        # Each member in its own transaction, so the faulty one is found and set aside.
        moved = 0
        for member in members:
            name = member.projection.name
            try:
                moved = max(moved, member.process_batch(conn))
                self._set_aside.pop(name, None)
            except CONNECTION_ERRORS:
                raise
            except Exception as error:
                backoff = min(self._set_aside.get(name, (0.0, 0.5))[1] * 2, 60.0)
                self._set_aside[name] = (time.monotonic() + backoff, backoff)
                member._last_error = f"{type(error).__name__}: {error}"
                log.error("projection %s: %s; retrying in %.0f s", name, error, backoff)
        return moved


def _notification(row: tuple[Any, ...]) -> Notification:
    notification_id, originator_id, originator_version, topic, state = row
    return Notification(
        id=notification_id,
        originator_id=originator_id,
        originator_version=originator_version,
        topic=topic,
        state=bytes(state),
    )


def _apply_to(
    cur: psycopg.Cursor[Any],
    projection: Projection,
    events: list[tuple[int, str, Any]],
    position: int,
) -> None:
    """Apply to ``projection`` the events after ``position`` whose topic it follows."""
    topics = projection.topics
    apply_events(
        cur,
        projection,
        [
            (event_position, event)
            for event_position, topic, event in events
            if event_position > position and (not topics or topic in topics)
        ],
    )


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


def take_lock(conn: psycopg.Connection[Any], name: str) -> bool:
    """Try to become the one active runner of projection ``name`` (a session advisory lock)."""
    row = conn.execute(
        "SELECT pg_try_advisory_lock(hashtext(%s))", (f"ledgerflow.projection.{name}",)
    ).fetchone()
    return bool(row and row[0])
