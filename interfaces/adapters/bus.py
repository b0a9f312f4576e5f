"""The live event bus: Redis pub/sub, or an in-process bus (PostgreSQL's is in postgres_bus).

Pub/sub is at-most-once, so the bus is only the fast path; consumers that must not miss events
catch up from the event store by position. ``listen()`` yields ``None`` each time it has
(re)subscribed, meaning "messages before this point may have been missed: catch up from the store".
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from typing import Protocol

import redis
import redis.asyncio as aioredis

log = logging.getLogger(__name__)
CHANNEL = "ledgerflow:events"


class BusUnavailable(Exception):
    """The bus refused a message (Redis is down); the relay retries later."""


class EventBus(Protocol):
    """Where the relay publishes envelopes and where each process listens for them."""

    def publish_many(self, messages: list[str]) -> None: ...

    def listen(self) -> AsyncIterator[str | None]: ...

    def close(self) -> None: ...


class LocalBus:
    """Fan-out inside one process: the relay thread publishes, event loops listen."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[str | None]]] = []

    def publish_many(self, messages: list[str]) -> None:
        """Hand ``messages`` to every listener, in order (thread-safe)."""
        with self._lock:
            queues = list(self._queues)
        for loop, queue in queues:
            try:
                for message in messages:
                    loop.call_soon_threadsafe(queue.put_nowait, message)
            except RuntimeError:  # that loop has closed; its listener is gone
                continue

    async def listen(self) -> AsyncIterator[str | None]:
        """Every message published from now on."""
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        entry = (asyncio.get_running_loop(), queue)
        with self._lock:
            self._queues.append(entry)
        try:
            yield None
            while True:
                yield await queue.get()
        finally:
            with self._lock:
                self._queues.remove(entry)

    def close(self) -> None:
        """Nothing to release."""


class RedisBus:
    """Redis pub/sub on one channel; one subscription per listening process."""

    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        self._url = url
        self._channel = channel
        self._client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)

    def publish_many(self, messages: list[str]) -> None:
        """Publish ``messages`` in order in one round trip; BusUnavailable when Redis fails."""
        try:
            pipe = self._client.pipeline(transaction=False)
            for message in messages:
                pipe.publish(self._channel, message)
            pipe.execute()
        except (redis.RedisError, OSError) as error:
            raise BusUnavailable(f"Redis publish failed: {error}") from None

    async def listen(self) -> AsyncIterator[str | None]:
        """Messages from the channel; ``None`` after each (re)subscription."""
        backoff = 0.1
        while True:
            client = aioredis.Redis.from_url(
                self._url, socket_connect_timeout=2, health_check_interval=5
            )
            try:
                async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self._channel)
                    yield None
                    backoff = 0.1
                    async for message in pubsub.listen():
                        if message and message.get("type") == "message":
                            data = message["data"]
                            yield data.decode() if isinstance(data, bytes) else str(data)
            except (redis.RedisError, OSError) as error:
                log.warning("event bus: %s; reconnecting", error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
            finally:
                await client.aclose()

    def close(self) -> None:
        """Release the publishing connection."""
        self._client.close()
