"""Read-your-writes for API clients.

A command answers with the log ``position`` that recorded it (body and ``X-Ledgerflow-Position``).
A query waits until its read model has applied the highest of: the position the caller sends
(``X-Ledgerflow-Min-Position`` header or ``min_position`` parameter) and the last position this
process wrote for the same principal. The wait is woken by the projection's commit, not a poll.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from uuid import UUID

from projections.watch import PositionWatch

POSITION_HEADER = "X-Ledgerflow-Position"
MIN_POSITION_HEADER = "X-Ledgerflow-Min-Position"


class Consistency:
    """Remembers each principal's last write (bounded) and makes queries wait for it."""

    def __init__(self, watch: PositionWatch, timeout: float, capacity: int = 100_000) -> None:
        self._watch = watch
        self._timeout = timeout
        self._capacity = capacity
        self._last: OrderedDict[UUID, int] = OrderedDict()
        self._lock = threading.Lock()

    def wrote(self, principal: UUID, position: int) -> None:
        """Record that ``principal`` just wrote at ``position``."""
        if position <= 0:
            return
        with self._lock:
            if position > self._last.get(principal, 0):
                self._last[principal] = position
            self._last.move_to_end(principal)
            if len(self._last) > self._capacity:
                self._last.popitem(last=False)

    def settle(self, projection: str, principal: UUID, min_position: int | None = None) -> None:
        """Block until ``projection`` reflects the principal's writes (503 past the bound)."""
        with self._lock:
            wanted = max(self._last.get(principal, 0), min_position or 0)
        if wanted and self._watch.position(projection) < wanted:
            self._watch.wait_for(projection, wanted, self._timeout)
