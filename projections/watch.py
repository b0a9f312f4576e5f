"""Read-your-writes: wait, without polling, until a projection has applied a given position."""

from __future__ import annotations

import asyncio
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


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class PositionWatch:
    """Knows each projection's position; woken by the runners' NOTIFY after each commit."""

    def __init__(self, conninfo: str, reconnect_delay: float = 0.5) -> None:
        self._conninfo = conninfo
        self._reconnect_delay = reconnect_delay
        self._positions: dict[str, int] = {}
        self._changed = threading.Condition()
        self._listeners: list[Callable[[set[str]], None]] = []
        # Waiters of the event loop: (name, position, future), resolved from the watch thread.
        self._async_waiters: list[tuple[str, int, asyncio.Future[None]]] = []
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

    async def wait_for_async(self, name: str, position: int, timeout: float) -> None:
        """``wait_for`` for the event loop: no thread is held while waiting."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (name, position, future)
        with self._changed:
            if self._positions.get(name, 0) >= position:
                return
            self._async_waiters.append(entry)
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            raise ProjectionNotCaughtUp(name, position, self.position(name), timeout) from None
        finally:
            with self._changed:
                if entry in self._async_waiters:
                    self._async_waiters.remove(entry)

    def _advance(self, positions: dict[str, int], changed: set[str]) -> None:
        with self._changed:
            for name, position in positions.items():
                if position > self._positions.get(name, 0):
                    self._positions[name] = position
            self._changed.notify_all()
            ready = [w for w in self._async_waiters if self._positions.get(w[0], 0) >= w[1]]
            for waiter in ready:
                self._async_waiters.remove(waiter)
        for _, _, future in ready:
            future.get_loop().call_soon_threadsafe(_resolve, future)
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
