"""One reader of the event log per process, shared by every follower.

Followers (the read-model group, the relay, the chain sealer, reactors) each keep their own
position, transaction and retry, but they ask this reader for the events after their position.
It reads each stored event once, decodes it once and keeps a window of the newest events in
memory, so followers that keep up are served from memory; one that fell behind the window is
served by a direct read (not cached, so it cannot evict what the others need).

One LISTEN connection hears of new events; its thread reads them into the window at once and
wakes only the followers that want one of their types (``Waker.wants``: a reactor wakes for
the events it reacts to, not for every task created). A follower not woken passes over what it
did not want at its own poll (``LogFollower``), from memory. Before, every event woke every
follower thread: twenty threads fighting for the interpreter on each commit. A poll on a
timeout covers a lost notification.

A ``Tap`` sees the events themselves as they enter the window (whichever thread read them),
before any follower applies them: the agents' lease broker learns of a queued task there, without
waiting for the tasks read model.

Commit order equals position order (the writers' table lock), so when a read returns events up to
position ``p``, every event at or below ``p`` that will ever exist has been seen.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Mapper, Notification
from psycopg import sql

log = logging.getLogger(__name__)
STOP_CHECK_INTERVAL = 0.1


@dataclass(frozen=True)
class Logged:
    """One stored event: its position, public type, stored record and decoded domain event."""

    position: int
    topic: str
    originator_id: UUID
    originator_version: int
    state: bytes
    event: Any


class Waker:
    """How a follower is woken: when an event type it ``wants`` is recorded, or told to."""

    def __init__(self, wants: Callable[[str], bool] | None = None) -> None:
        self.wants = wants  # None: every event
        self._news = threading.Condition()
        self.generation = 0

    def wanted(self, topics: Iterable[str] | None) -> bool:
        """Whether news of these event types (None: unknown) concerns this follower."""
        if topics is None or self.wants is None:
            return True
        try:
            return any(self.wants(topic) for topic in topics)
        except Exception:  # a follower not ready to answer yet: wake it, it will know
            return True

    def wake(self) -> None:
        """Wake the follower (news, or a stop)."""
        with self._news:
            self.generation += 1
            self._news.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """Block until woken after generation ``seen`` (or ``timeout``); the generation."""
        with self._news:
            if self.generation == seen:
                self._news.wait(timeout)
            return self.generation


@dataclass(frozen=True)
class Tap:
    """Who is handed the events of the types it ``wants`` as they enter the window, in log
    order, from the thread that read them (under the reader's lock: ``deliver`` must be quick and
    must not call the reader)."""

    wants: Callable[[str], bool]
    deliver: Callable[[list[Logged]], None]


class LogReader:
    """Reads the log for several followers at once; see the module docstring."""

    def __init__(
        self,
        conninfo: str,
        mapper: Mapper[Any],
        events_table: str,
        events_channel: str,
        window: int = 20_000,
        poll_interval: float = 1.0,
    ) -> None:
        self._conninfo = conninfo
        self._mapper = mapper
        self._channel = events_channel
        self._window = window
        self._poll_interval = poll_interval
        self._select = sql.SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {}"
            " WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        ).format(sql.Identifier(events_table))
        self._last = sql.SQL("SELECT max(notification_id) FROM {}").format(
            sql.Identifier(events_table)
        )
        self._lock = threading.Lock()
        # The window: every event with low < position <= high, in order.
        self._events: list[Logged] = []
        self._positions: list[int] = []
        self._low = self._high = -1
        self._news = threading.Condition()
        self._generation = 0
        self._wakers: list[Waker] = []
        self._taps: list[Tap] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.reads = 0  # database reads made (for tests and diagnostics)

    # Reading

    @property
    def head(self) -> int:
        """The highest position this reader has seen."""
        return max(self._high, 0)

    def read_after(self, conn: psycopg.Connection[Any], position: int, limit: int) -> list[Logged]:
        """Up to ``limit`` events after ``position``, oldest first (from memory when it can).

        ``conn`` is the caller's connection: the read joins the caller's transaction.
        """
        with self._lock:
            if self._low <= position < self._high:
                start = bisect.bisect_right(self._positions, position)
                return self._events[start : start + limit]
            fresh = self._fetch(conn, position, limit)
            if fresh and (position == self._high or self._high < 0):
                self._remember(position, fresh)
            elif self._high < 0:  # nothing yet: the window starts here, empty
                self._low = self._high = position
            return fresh

    def open_at_head(self, conn: psycopg.Connection[Any]) -> None:
        """Start the window at the log's head if no follower has started it (a process whose
        followers do not run, or stand by, that wants the news from now on)."""
        with self._lock:
            if self._high < 0:
                row = conn.execute(self._last).fetchone()
                self._low = self._high = int(row[0] or 0) if row else 0

    def _fetch(self, conn: psycopg.Connection[Any], position: int, limit: int) -> list[Logged]:
        self.reads += 1
        rows = conn.execute(self._select, (position, limit)).fetchall()
        return [self._decode(row) for row in rows]

    def _decode(self, row: tuple[Any, ...]) -> Logged:
        position, originator_id, version, topic, state = row
        state = bytes(state)
        notification = Notification(
            id=position,
            originator_id=originator_id,
            originator_version=version,
            topic=topic,
            state=state,
        )
        event = self._mapper.to_domain_event(notification)
        return Logged(position, topic, originator_id, version, state, event)

    def _remember(self, position: int, fresh: list[Logged]) -> None:
        if self._high < 0:
            self._low = position
        self._events.extend(fresh)
        self._positions.extend(e.position for e in fresh)
        self._high = fresh[-1].position
        for tap in self._taps:
            wanted = [e for e in fresh if tap.wants(e.topic)]
            if wanted:
                try:
                    tap.deliver(wanted)
                except Exception:  # a tap's failure must not stop the reader or its caller
                    log.exception("log reader: a tap failed")
        excess = len(self._events) - self._window
        if excess > 0:
            self._low = self._positions[excess - 1]
            del self._events[:excess], self._positions[:excess]

    def _read_ahead(self, conn: psycopg.Connection[Any], limit: int = 1000) -> set[str] | None:
        """Read what was recorded after the window into it; the types read (None: no window
        yet, so nobody knows what is new)."""
        topics: set[str] = set()
        with self._lock:
            if self._high < 0:
                return None
            while True:
                fresh = self._fetch(conn, self._high, limit)
                if fresh:
                    self._remember(self._high, fresh)
                    topics.update(e.topic for e in fresh)
                if len(fresh) < limit:
                    return topics

    # Waking followers

    def subscribe(self, waker: Waker) -> None:
        """Wake ``waker`` when news it wants is recorded."""
        with self._news:
            self._wakers = [*self._wakers, waker]

    def unsubscribe(self, waker: Waker) -> None:
        """Stop waking ``waker``."""
        with self._news:
            self._wakers = [w for w in self._wakers if w is not waker]

    def add_tap(self, tap: Tap) -> None:
        """Hand ``tap`` the events it wants as they are read (see ``Tap``)."""
        with self._lock:
            self._taps = [*self._taps, tap]

    def wait_for_news(self, seen: int, timeout: float) -> int:
        """Block until something is recorded after generation ``seen`` (or ``timeout``);
        return the current generation."""
        with self._news:
            if self._generation == seen:
                self._news.wait(timeout)
            return self._generation

    @property
    def generation(self) -> int:
        """A counter that moves whenever the log may have grown."""
        return self._generation

    def _wake(self, topics: set[str] | None = None) -> None:
        """Wake the followers that want one of ``topics`` (None: every follower)."""
        with self._news:
            self._generation += 1
            self._news.notify_all()
            wakers = self._wakers
        if topics is not None and not topics:
            return
        for waker in wakers:
            if waker.wanted(topics):
                waker.wake()

    def start(self) -> None:
        """Listen for new events in a background thread until ``stop``."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._listen, name="log-reader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening (followers then only poll)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._wake()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                    self._wake(self._read_ahead(conn))  # what was recorded before LISTEN
                    while not self._stop.is_set():
                        # A notification, or the poll (a lost notification costs one
                        # interval): read what is new, wake who wants it.
                        for _ in conn.notifies(timeout=self._poll_interval, stop_after=1):
                            pass
                        if not self._stop.is_set():
                            self._wake(self._read_ahead(conn))
            except psycopg.Error as error:
                log.warning("log reader: %s; reconnecting", error)
                self._wake()
                self._stop.wait(0.5)
