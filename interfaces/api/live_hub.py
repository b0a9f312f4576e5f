"""The process's one bus listener and the subscriptions it fans live events out to.

Each live event is decoded once and encoded once per process, however many sockets receive it;
the hub finds the subscriptions by reader, so an event costs nothing for other users' sockets.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from domain.ids import new_id
from interfaces.adapters.bus import EventBus
from projections.event_alias import EventMatcher

if TYPE_CHECKING:
    from interfaces.api.live import LiveSession

BUFFER_SIZE = 10_000


class SlowConsumer(Exception):
    """A client does not read its events fast enough."""


@dataclass(eq=False)
class Subscription:
    """Event type patterns of one client, with the last position sent to it."""

    session: LiveSession
    patterns: tuple[str, ...]
    last_sent: int
    id: str = field(default_factory=lambda: new_id().hex)
    catching_up: bool = True
    resynced: bool = False
    buffer: deque[dict[str, Any]] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self._matcher = EventMatcher(self.patterns)

    def wants(self, event: dict[str, Any]) -> bool:
        """True when this subscription asked for ``event`` (by its type or a derived alias)."""
        return self._matcher.matches(event["type"], event["data"])

    def message_for(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """The message carrying ``event``, or None if already sent (advances ``last_sent``)."""
        if event["position"] <= self.last_sent:
            return None
        self.last_sent = event["position"]
        return {"type": "event", "subscription_id": self.id, "event": event}

    def offer(self, event: dict[str, Any], encoded: str) -> None:
        """A live event (``encoded`` is its JSON, made once per process): buffered while
        catching up, else queued for sending as text, with no JSON work per client."""
        if self.catching_up:
            if len(self.buffer) >= BUFFER_SIZE:
                raise SlowConsumer(f"more than {BUFFER_SIZE} live events buffered")
            self.buffer.append(event)
        elif event["position"] > self.last_sent:
            self.last_sent = event["position"]
            text = f'{{"type":"event","subscription_id":"{self.id}","event":{encoded}}}'
            try:
                self.session.outbox.put_nowait(text)
            except asyncio.QueueFull:
                waiting = self.session.outbox.maxsize
                raise SlowConsumer(f"more than {waiting} events waiting") from None


class LiveHub:
    """The process's one bus listener, fanning each message out to matching subscriptions."""

    def __init__(self, bus: EventBus, head: Callable[[], int | None]) -> None:
        self._bus = bus
        self._head = head
        self._readers: dict[str, set[Subscription]] = {}
        self._task: asyncio.Task[None] | None = None
        self.position = 0

    async def head(self) -> int:
        """The position of the last event recorded."""
        return await asyncio.to_thread(self._head) or 0

    def add(self, subscription: Subscription) -> None:
        """Start delivering live events to ``subscription``."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="live-hub")
        self._readers.setdefault(str(subscription.session.reader), set()).add(subscription)

    def remove(self, subscription: Subscription) -> None:
        """Stop delivering to ``subscription``."""
        reader = str(subscription.session.reader)
        subscriptions = self._readers.get(reader, set())
        subscriptions.discard(subscription)
        if not subscriptions:
            self._readers.pop(reader, None)

    async def _run(self) -> None:
        async for raw in self._bus.listen():
            if raw is None:
                for subscriptions in list(self._readers.values()):
                    for subscription in list(subscriptions):
                        subscription.session.resync(subscription)
                continue
            self._fan_out(json.loads(raw))

    def _fan_out(self, message: dict[str, Any]) -> None:
        """Offer the event to its reader's subscriptions, encoding it at most once."""
        event = message["event"]
        self.position = max(self.position, event["position"])
        encoded = ""
        for subscription in list(self._readers.get(message["reader_id"], ())):
            if subscription.wants(event):
                encoded = encoded or json.dumps(event, separators=(",", ":"))
                try:
                    subscription.offer(event, encoded)
                except SlowConsumer as error:
                    subscription.session.drop(f"slow consumer: {error}")
