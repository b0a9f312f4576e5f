"""Read-your-writes for API clients.

A command answers with the log ``position`` that recorded it (body and ``X-Ledgerflow-Position``).
A query waits until its read model has applied the highest of: the position the caller sends
(``X-Ledgerflow-Min-Position`` header or ``min_position`` parameter) and the last position the
same principal wrote. That last position is kept in Redis when Redis is configured, so a client
reads its writes on every API instance behind a load balancer; in-process with a single process;
and with several worker processes but no Redis, a query waits for the head of the log.
The wait is woken by the projection's commit, not a poll.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Protocol
from uuid import UUID

import redis
import redis.asyncio

from domain.error import InvalidValue
from projections.watch import PositionWatch

log = logging.getLogger(__name__)

POSITION_HEADER = "X-Ledgerflow-Position"
MIN_POSITION_HEADER = "X-Ledgerflow-Min-Position"


class PrincipalPositions(Protocol):
    """Where each principal's last written position is remembered."""

    def raise_to(self, principal: UUID, position: int) -> None: ...

    async def raise_to_async(self, principal: UUID, position: int) -> None: ...

    def get(self, principal: UUID) -> int: ...

    async def get_async(self, principal: UUID) -> int: ...


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

    async def raise_to_async(self, principal: UUID, position: int) -> None:
        """``raise_to`` for the event loop (it never blocks)."""
        self.raise_to(principal, position)

    def get(self, principal: UUID) -> int:
        """The last position written by ``principal`` (0 when unknown)."""
        with self._lock:
            return self._last.get(principal, 0)

    async def get_async(self, principal: UUID) -> int:
        """``get`` for the event loop (it never blocks)."""
        return self.get(principal)


_RAISE_TO = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
"""


class RedisPositions:
    """Shared by every API instance; falls back to in-process memory while Redis is down."""

    def __init__(self, url: str, ttl_seconds: int = 3600) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._async = redis.asyncio.Redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5
        )
        self._ttl = ttl_seconds
        self._script = self._client.register_script(_RAISE_TO)
        self._async_script = self._async.register_script(_RAISE_TO)
        self._fallback = LocalPositions()

    def raise_to(self, principal: UUID, position: int) -> None:
        """Remember ``position`` for every instance (and locally, in case Redis is lost)."""
        self._fallback.raise_to(principal, position)
        try:
            self._script(keys=[self._key(principal)], args=[position, self._ttl])
        except redis.RedisError as error:
            log.warning("read-your-writes: Redis unavailable (%s); using local memory", error)

    async def raise_to_async(self, principal: UUID, position: int) -> None:
        """``raise_to`` for the event loop, with the asyncio Redis client."""
        self._fallback.raise_to(principal, position)
        try:
            await self._async_script(keys=[self._key(principal)], args=[position, self._ttl])
        except (redis.RedisError, OSError) as error:
            log.warning("read-your-writes: Redis unavailable (%s); using local memory", error)

    def get(self, principal: UUID) -> int:
        """The highest position known for ``principal`` here or in Redis."""
        local = self._fallback.get(principal)
        try:
            shared = self._client.get(self._key(principal))
        except redis.RedisError:
            return local
        return max(local, int(shared or 0))

    async def get_async(self, principal: UUID) -> int:
        """``get`` for the event loop, with the asyncio Redis client."""
        local = self._fallback.get(principal)
        try:
            shared = await self._async.get(self._key(principal))
        except (redis.RedisError, OSError):
            return local
        return max(local, int(shared or 0))

    @staticmethod
    def _key(principal: UUID) -> str:
        return f"ledgerflow:ryw:{principal}"


class HeadPositions:
    """For several processes with no Redis: wait for everything recorded before the query.

    Stronger than needed (a query waits for other principals' writes too, i.e. for the lag) but
    correct whichever process served the write; one index-only query per read.
    """

    def __init__(self, head: Callable[[], int | None]) -> None:
        self._head = head

    def raise_to(self, principal: UUID, position: int) -> None:
        """Nothing to remember: the log head covers every write."""

    async def raise_to_async(self, principal: UUID, position: int) -> None:
        """Nothing to remember: the log head covers every write."""

    def get(self, principal: UUID) -> int:
        """The position of the last event recorded by anyone."""
        return self._head() or 0

    async def get_async(self, principal: UUID) -> int:
        """``get`` in a thread (it queries the database)."""
        return await asyncio.to_thread(self.get, principal)


class PositionAhead(InvalidValue):
    """A client asked to wait for a position the log has not reached: it may never come."""

    def __init__(self, wanted: int, head: int) -> None:
        super().__init__("min_position", f"{wanted} is beyond the last position recorded ({head})")


class TooManyWaits(Exception):
    """A principal already has the most reads allowed waiting for a read model."""

    retry_after = 1

    def __init__(self, limit: int) -> None:
        super().__init__(f"At most {limit} reads may wait for a read model at once; retry in 1 s")


class Consistency:
    """Makes queries wait until their read model reflects the principal's own writes."""

    def __init__(
        self,
        watch: PositionWatch,
        positions: PrincipalPositions,
        timeout: float,
        head: Callable[[], int | None] = lambda: None,
        waits_per_principal: int = 16,
    ) -> None:
        self._watch = watch
        self._positions = positions
        self._timeout = timeout
        self._head = head
        self._known_head = 0
        self._waits_per_principal = waits_per_principal
        self._waiting: Counter[UUID] = Counter()

    def wrote(self, principal: UUID, position: int) -> None:
        """Record that ``principal`` just wrote at ``position``."""
        if position > 0:
            self._positions.raise_to(principal, position)

    async def wrote_async(self, principal: UUID, position: int) -> None:
        """``wrote`` for the event loop."""
        if position > 0:
            await self._positions.raise_to_async(principal, position)

    async def settle_async(
        self, projection: str, principal: UUID, min_position: int | None = None
    ) -> None:
        """Wait, without holding a thread, until ``projection`` reflects the principal's writes
        and ``min_position``: 422 at once for a position beyond the log head, 429 when the
        principal already has too many reads waiting, 503 past the bound."""
        wanted = max(await self._positions.get_async(principal), min_position or 0)
        if not wanted or self._watch.position(projection) >= wanted:
            return
        if min_position and min_position > self._known_head:
            head: int | None = await asyncio.to_thread(self._head)
            self._check_head(min_position, head or 0)
        if self._waiting[principal] >= self._waits_per_principal:
            raise TooManyWaits(self._waits_per_principal)
        self._waiting[principal] += 1
        try:
            await self._watch.wait_for_async(projection, wanted, self._timeout)
        finally:
            self._waiting[principal] -= 1
            if not self._waiting[principal]:
                del self._waiting[principal]

    def settle_own_writes(self, projection: str, principal: UUID, at_least: int = 0) -> None:
        """In a worker thread: wait until ``projection`` reflects the principal's own writes (and
        ``at_least``, a position this server just recorded for them). Only for routes that read
        right after writing in the same thread: a client cannot name the position, so it cannot
        make the wait long; a client-given ``min_position`` goes through ``settle_async``."""
        wanted = max(self._positions.get(principal), at_least)
        if wanted and self._watch.position(projection) < wanted:
            self._watch.wait_for(projection, wanted, self._timeout)

    @property
    def waiting(self) -> int:
        """How many reads are waiting for a read model right now."""
        return sum(self._waiting.values())

    def _check_head(self, min_position: int | None, head: int) -> None:
        self._known_head = max(self._known_head, head)
        if min_position and min_position > self._known_head:
            raise PositionAhead(min_position, self._known_head)
