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
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
from eventsourcing.persistence import ApplicationRecorder, Mapper

from projections.schema import PROJECTION_CHANNEL, ensure_tracking_table

log = logging.getLogger(__name__)
STOP_CHECK_INTERVAL = 0.1


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


class ProjectionRunner:
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
        self.projection = projection
        self._conninfo = conninfo
        self._recorder = recorder
        self._mapper = mapper
        self._events_channel = events_channel
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._position = 0
        self._head = 0
        self._active = False
        self._last_error: str | None = None

    # Lifecycle

    def start(self) -> None:
        """Run in a background thread until ``stop``."""
        self._thread = threading.Thread(
            target=self.run, name=f"projection-{self.projection.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Ask the runner to finish its current batch and exit."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def status(self) -> RunnerStatus:
        """Position, head and lag as last seen by the runner."""
        return RunnerStatus(
            self.projection.name, self._position, self._head, self._active, self._last_error
        )

    def run(self) -> None:
        """Keep the projection current; reconnect after any database failure."""
        backoff = 0.2
        while not self._stop.is_set():
            try:
                self._serve()
                backoff = 0.2
            except psycopg.Error as error:
                self._active = False
                self._last_error = str(error).strip()
                log.warning("projection %s: %s; retrying", self.projection.name, self._last_error)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)

    def _serve(self) -> None:
        with (
            psycopg.connect(self._conninfo, autocommit=True) as work,
            psycopg.connect(self._conninfo, autocommit=True) as listen,
        ):
            # A read model is derived data committed with its own position: if the last commits
            # are lost in a crash, both roll back together and the events are applied again, so
            # exactly-once holds without waiting for each commit to reach the disk.
            work.execute("SET synchronous_commit = off")
            self.setup(work)
            if not self._take_lock(work):
                self._active = False
                self._stop.wait(self._poll_interval * 2)
                return
            self._active = True
            self._last_error = None
            listen.execute(f'LISTEN "{self._events_channel}"')
            while not self._stop.is_set():
                if self.process_batch(work) == 0:
                    self._wait_for_news(listen)

    def _wait_for_news(self, listen: psycopg.Connection[Any]) -> None:
        # Wake on the first NOTIFY, or after the poll interval; in short slices so stop() is quick.
        waited = 0.0
        while waited < self._poll_interval and not self._stop.is_set():
            for _ in listen.notifies(timeout=STOP_CHECK_INTERVAL, stop_after=1):
                return
            waited += STOP_CHECK_INTERVAL

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
            with conn.pipeline():
                for notification in notifications:
                    event = self._mapper.to_domain_event(notification)
                    self.projection.apply(cur, event, notification.id)
            # A projection that writes outside the database (the relay) flushes before the commit.
            if flush := getattr(self.projection, "flush", None):
                flush()
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
                (PROJECTION_CHANNEL, f"{self.projection.name}:{new_position}"),
            )
        self._position = new_position
        return new_position - position

    def _take_lock(self, conn: psycopg.Connection[Any]) -> bool:
        row = conn.execute(
            "SELECT pg_try_advisory_lock(hashtext(%s))",
            (f"ledgerflow.projection.{self.projection.name}",),
        ).fetchone()
        return bool(row and row[0])
