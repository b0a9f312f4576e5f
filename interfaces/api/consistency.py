"""Read-your-writes for API clients.

A command answers with the log ``position`` that recorded it (body and ``X-Ledgerflow-Position``).
A query waits until its read model has applied the highest of: the position the caller sends
(``X-Ledgerflow-Min-Position`` header or ``min_position`` parameter) and the last position the
same principal wrote. That last position is kept in Redis when Redis is configured, so a client
reads its writes on every API instance behind a load balancer; in-process otherwise (and as the
fallback while Redis is down). The wait is woken by the projection's commit, not a poll.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Protocol
from uuid import UUID

import redis

from projections.watch import PositionWatch

log = logging.getLogger(__name__)

POSITION_HEADER = "X-Ledgerflow-Position"
MIN_POSITION_HEADER = "X-Ledgerflow-Min-Position"


class PrincipalPositions(Protocol):
    """Where each principal's last written position is remembered."""

    def raise_to(self, principal: UUID, position: int) -> None: ...

    def get(self, principal: UUID) -> int: ...


class LocalPositions:
    """In-process, bounded (least recently written principals are forgotten first)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._last: OrderedDict[UUID, int] = OrderedDict()
        self._lock = threading.Lock()

    def raise_to(self, principal: UUID, position: int) -> None:
        """Remember ``position`` unless a higher one is known."""
        with self._lock:
            if position > self._last.get(principal, 0):
                self._last[principal] = position
            self._last.move_to_end(principal)
            if len(self._last) > self._capacity:
                self._last.popitem(last=False)

    def get(self, principal: UUID) -> int:
        """The last position written by ``principal`` (0 when unknown)."""
        with self._lock:
            return self._last.get(principal, 0)


_RAISE_TO = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
"""


class RedisPositions:
    """Shared by every API instance; falls back to in-process memory while Redis is down."""

    def __init__(self, client: redis.Redis, ttl_seconds: int = 3600) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._script = client.register_script(_RAISE_TO)
        self._fallback = LocalPositions()

    def raise_to(self, principal: UUID, position: int) -> None:
        """Remember ``position`` for every instance (and locally, in case Redis is lost)."""
        self._fallback.raise_to(principal, position)
        try:
            self._script(keys=[self._key(principal)], args=[position, self._ttl])
        except redis.RedisError as error:
            log.warning("read-your-writes: Redis unavailable (%s); using local memory", error)

    def get(self, principal: UUID) -> int:
        """The highest position known for ``principal`` here or in Redis."""
        local = self._fallback.get(principal)
        try:
            shared = self._client.get(self._key(principal))
        except redis.RedisError:
            return local
        return max(local, int(shared or 0))

    @staticmethod
    def _key(principal: UUID) -> str:
        return f"ledgerflow:ryw:{principal}"


class Consistency:
    """Makes queries wait until their read model reflects the principal's own writes."""

    def __init__(self, watch: PositionWatch, positions: PrincipalPositions, timeout: float) -> None:
        self._watch = watch
        self._positions = positions
        self._timeout = timeout

    def wrote(self, principal: UUID, position: int) -> None:
        """Record that ``principal`` just wrote at ``position``."""
        if position > 0:
            self._positions.raise_to(principal, position)

    def settle(self, projection: str, principal: UUID, min_position: int | None = None) -> None:
        """Block until ``projection`` reflects the principal's writes (503 past the bound)."""
        wanted = max(self._positions.get(principal), min_position or 0)
        if wanted and self._watch.position(projection) < wanted:
            self._watch.wait_for(projection, wanted, self._timeout)
