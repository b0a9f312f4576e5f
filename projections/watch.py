"""Read-your-writes: wait, without polling, until a projection has applied a given position."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import psycopg

from projections.schema import (
    PROJECTION_CHANNEL,
    parse_changed,
    parse_progress,
    tracked_positions,
)

log = logging.getLogger(__name__)


class ProjectionNotCaughtUp(Exception):
    """A projection did not reach the wanted position in time (it is down or far behind)."""

    def __init__(self, name: str, wanted: int, reached: int, timeout: float) -> None:
        super().__init__(
            f"The {name} read model has not caught up with your last change within"
            f" {timeout:g} s (it is at position {reached}, your change is at {wanted});"
            " the projection may be down. Retry shortly."
        )
        self.name, self.wanted, self.reached = name, wanted, reached


class PositionWatch:
    """Knows each projection's position; woken by the runners' NOTIFY after each commit."""

    def __init__(self, conninfo: str, reconnect_delay: float = 0.5) -> None:
        self._conninfo = conninfo
        self._reconnect_delay = reconnect_delay
        self._positions: dict[str, int] = {}
        self._changed = threading.Condition()
        self._listeners: list[Callable[[set[str]], None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="position-watch", daemon=True)

    def start(self) -> None:
        """Start listening in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop listening."""
        self._stop.set()
        self._thread.join(timeout=5)

    def add_listener(self, listener: Callable[[set[str]], None]) -> None:
        """Call ``listener(names)`` whenever a commit changed rows of the read models ``names``
        (in the watch thread; commits that only moved a position are not reported), and with
        every name after a reconnect (what changed meanwhile is unknown)."""
        self._listeners.append(listener)

    def position(self, name: str) -> int:
        """The last position ``name`` is known to have committed."""
        with self._changed:
            return self._positions.get(name, 0)

    def wait_for(self, name: str, position: int, timeout: float) -> None:
        """Return once ``name`` has applied ``position``; ProjectionNotCaughtUp after timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._positions.get(name, 0) < position:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ProjectionNotCaughtUp(
                        name, position, self._positions.get(name, 0), timeout
                    )
                self._changed.wait(remaining)

    def _advance(self, positions: dict[str, int], changed: set[str]) -> None:
        with self._changed:
            for name, position in positions.items():
                if position > self._positions.get(name, 0):
                    self._positions[name] = position
            self._changed.notify_all()
        if changed:
            for listener in self._listeners:
                listener(changed)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    conn.execute(f'LISTEN "{PROJECTION_CHANNEL}"')
                    # Read after LISTEN so that no commit falls between the two.
                    known = tracked_positions(conn)
                    self._advance(known, set(known) or {"*"})
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.1):
                            payload = note.payload
                            self._advance(parse_progress(payload), parse_changed(payload))
            except (psycopg.Error, ValueError) as error:
                log.warning("position watch: %s; reconnecting", error)
                self._stop.wait(self._reconnect_delay)
