"""The life of a thread that follows the event log: start, stop, reconnect, wake on news.

Every follower of a process (the read-model group, the relay, the chain sealer, reactors) gets its
events from the process's one ``LogReader`` and keeps its own position, transaction and retry: a
slow or failing follower holds up no other.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import psycopg
from eventsourcing import persistence as es_persistence
from eventsourcing.persistence import PersistenceError

from projections.log_reader import LogReader, Waker
from projections.schema import Stuck

log = logging.getLogger(__name__)
# Failures of the connection itself: reconnect, rather than blame a projection.
CONNECTION_ERRORS = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    es_persistence.OperationalError,
    es_persistence.InterfaceError,
)


class FollowerStuck(Exception):
    """A follower cannot apply the event at ``stuck.position``: it stays there (the events before
    it are applied), says so in /health and the logs, and tries again after a back-off, until the
    code is fixed or an operator skips the event (``ledgerflow projections skip``)."""

    def __init__(self, name: str, stuck: Stuck) -> None:
        super().__init__(
            f"{name} cannot apply the {stuck.type} event at position {stuck.position}:"
            f" {stuck.error}"
        )
        self.name, self.stuck = name, stuck


@dataclass(frozen=True)
class RunnerStatus:
    """What a follower reports: where it is, where the log is, and whether it is the active one."""

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
    """A thread that follows the log through ``reader``.

    Subclasses say what one pass does (``process_batch``) and what must hold before passes start
    (``_prepare``: tables, advisory locks).
    """

    name = "log-follower"

    def __init__(
        self,
        conninfo: str,
        reader: LogReader,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        *,
        owns_reader: bool = False,
    ) -> None:
        self._conninfo = conninfo
        self.reader = reader
        self._owns_reader = owns_reader  # a follower alone in its process: start and stop it too
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._news = Waker(self.wants)

    def wants(self, topic: str) -> bool:
        """Whether news of an event of type ``topic`` should wake this follower (events it
        does not want are passed over at its next poll, from the reader's memory)."""
        return True

    # Lifecycle

    def start(self) -> None:
        """Run in a background thread until ``stop``."""
        self._stop.clear()
        self.reader.subscribe(self._news)
        if self._owns_reader:
            self.reader.start()
        self._thread = threading.Thread(target=self.run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the follower to finish its current batch and exit."""
        self._stop.set()
        self._news.wake()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.reader.unsubscribe(self._news)
        if self._owns_reader:
            self.reader.stop()

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
            except Exception as error:  # a bug, or an event it cannot apply: never die silently
                self._failed(f"{type(error).__name__}: {error}")
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 60.0)

    def _failed(self, error: str) -> None:
        log.warning("%s: %s; retrying", self.name, error)

    def _serve(self) -> None:
        with psycopg.connect(self._conninfo, autocommit=True) as work:
            # A read model is derived data committed with its own position: if the last commits
            # are lost in a crash, both roll back together and the events are applied again, so
            # exactly-once holds without waiting for each commit to reach the disk.
            work.execute("SET synchronous_commit = off")
            while not self._stop.is_set():
                seen = self._news.generation
                if not self._prepare(work):
                    self._stop.wait(self._poll_interval * 2)
                elif self.process_batch(work) == 0:
                    self._wait_for_news(seen)

    def _prepare(self, conn: psycopg.Connection[Any]) -> bool:
        """Make ready for a pass; False to stand by (another process holds the work)."""
        return True

    def process_batch(self, conn: psycopg.Connection[Any]) -> int:
        """Do one pass; return how far the position moved (0 when caught up)."""
        raise NotImplementedError

    def _wait_for_news(self, seen: int) -> None:
        # Wake when the reader hears of events this follower wants, when stopped, or after
        # the poll interval (then pass over what came meanwhile).
        if not self._stop.is_set():
            self._news.wait(seen, self._poll_interval)


def take_lock(conn: psycopg.Connection[Any], name: str) -> bool:
    """Try to become the one active runner of projection ``name`` (a session advisory lock)."""
    row = conn.execute(
        "SELECT pg_try_advisory_lock(hashtext(%s))", (f"ledgerflow.projection.{name}",)
    ).fetchone()
    return bool(row and row[0])
