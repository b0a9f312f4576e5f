"""Live events over WebSocket: one bus subscription per process, fanned out to the sessions.

Each live event is decoded once and encoded once per process, however many sockets receive it;
the hub finds the subscriptions by reader, so an event costs nothing for other users' sockets.

A subscription resumes without gap or duplicate: it is registered with the hub first (live
events are buffered), then it catches up from the event feed up to the log head and the buffer's
first position, then flushes the buffer and goes live, sending only positions above the last one
sent. When the bus reconnects (messages may have been lost) every subscription catches up again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

from starlette.websockets import WebSocket, WebSocketDisconnect

from application.api_keys import KEY_PREFIX
from application.error import InvalidToken
from domain.conversation import conversation_id_of
from interfaces.adapters.bus import EventBus
from interfaces.container import Container
from projections.event_feed import FeedPage, type_matcher

log = logging.getLogger(__name__)
CLOSE_UNAUTHORIZED = 4401
CLOSE_SLOW = 4008
AUTH_TIMEOUT = 10.0
OUTBOX_SIZE = 1000
BUFFER_SIZE = 10_000
PAGE = 500
FEED_BEHIND_WAIT = 0.05


class SlowConsumer(Exception):
    """A client does not read its events fast enough."""


@dataclass(eq=False)
class Subscription:
    """Event type patterns of one client, with the last position sent to it."""

    session: LiveSession
    patterns: tuple[str, ...]
    last_sent: int
    id: str = field(default_factory=lambda: uuid4().hex)
    catching_up: bool = True
    resynced: bool = False
    buffer: deque[dict[str, Any]] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self._matcher = type_matcher(self.patterns)

    def wants(self, event_type: str) -> bool:
        """True when this subscription asked for events of ``event_type``."""
        return bool(self._matcher.fullmatch(event_type))

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
            if subscription.wants(event["type"]):
                encoded = encoded or json.dumps(event, separators=(",", ":"))
                try:
                    subscription.offer(event, encoded)
                except SlowConsumer as error:
                    subscription.session.drop(f"slow consumer: {error}")


def patterns_of(message: dict[str, Any]) -> tuple[str, ...]:
    """The type patterns a subscribe/unsubscribe message names (``events`` or seed ``event``)."""
    given = message.get("events", message.get("types", message.get("event", "*")))
    items = [given] if isinstance(given, str) else list(given or [])
    return tuple(str(p).strip() for p in items if str(p).strip()) or ("*",)


class LiveSession:
    """One authenticated WebSocket: its subscriptions, its outbox and its heartbeat."""

    def __init__(
        self,
        websocket: WebSocket,
        hub: LiveHub,
        reader: UUID,
        feed: Callable[..., FeedPage],
        outbox_size: int = OUTBOX_SIZE,
    ) -> None:
        self.websocket = websocket
        self.hub = hub
        self.reader = reader
        self.feed = feed
        self.outbox: asyncio.Queue[dict[str, Any] | str] = asyncio.Queue(maxsize=outbox_size)
        self.subscriptions: dict[str, Subscription] = {}
        self.dropped = asyncio.Event()
        self.drop_reason = ""
        self._tasks: set[asyncio.Task[None]] = set()

    def drop(self, reason: str) -> None:
        """Close this session (from the hub: the client is too slow)."""
        self.drop_reason = reason
        self.dropped.set()

    def resync(self, subscription: Subscription) -> None:
        """The bus may have lost messages: catch ``subscription`` up from the store again."""
        subscription.buffer.clear()
        if subscription.catching_up:
            subscription.resynced = True
        else:
            subscription.catching_up = True
            self._spawn(self._catch_up(subscription, subscription.last_sent))

    async def run(self, heartbeat: float) -> None:
        """Serve the client until it leaves or is dropped."""
        self._spawn(self._send())
        self._spawn(self._beat(heartbeat))
        receiving = asyncio.create_task(self._receive())
        dropped = asyncio.create_task(self.dropped.wait())
        try:
            await asyncio.wait({receiving, dropped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for subscription in self.subscriptions.values():
                self.hub.remove(subscription)
            for task in (*self._tasks, receiving, dropped):
                task.cancel()
        if self.dropped.is_set():
            with contextlib.suppress(Exception):  # the client may already be gone
                await self.websocket.close(CLOSE_SLOW, self.drop_reason[:120])

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self) -> None:
        while True:
            message = await self.outbox.get()
            if not isinstance(message, str):  # live events come already encoded
                message = json.dumps(message, separators=(",", ":"))
            await self.websocket.send_text(message)

    async def _beat(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.outbox.put({"type": "heartbeat", "position": self.hub.position})

    async def _receive(self) -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                try:
                    message = json.loads(await self.websocket.receive_text())
                except ValueError:
                    message = None
                await self._handle(message if isinstance(message, dict) else {})

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "ping":
            await self.outbox.put({"type": "pong", "position": self.hub.position})
        elif kind == "subscribe":
            await self._subscribe(message)
        elif kind == "unsubscribe":
            await self._unsubscribe(message)
        elif kind == "auth":
            await self.outbox.put({"type": "authenticated", "user_id": str(self.reader)})
        else:
            detail = "expected a JSON object with type ping, subscribe, unsubscribe or auth"
            await self.outbox.put({"type": "error", "code": "BAD_MESSAGE", "detail": detail})

    async def _subscribe(self, message: dict[str, Any]) -> None:
        start = message.get("from_position")
        if start is not None and (not isinstance(start, int) or start < 0):
            detail = "from_position must be a non-negative integer"
            await self.outbox.put({"type": "error", "code": "BAD_MESSAGE", "detail": detail})
            return
        subscription = Subscription(self, patterns_of(message), last_sent=0)
        self.hub.add(subscription)  # buffer live events before looking at the store
        if start is None:
            start = await self.hub.head()
        subscription.last_sent = start
        self.subscriptions[subscription.id] = subscription
        await self.outbox.put(
            {
                "type": "subscribed",
                "subscription_id": subscription.id,
                "events": list(subscription.patterns),
                "from_position": start,
            }
        )
        self._spawn(self._catch_up(subscription, start))

    async def _unsubscribe(self, message: dict[str, Any]) -> None:
        wanted = message.get("subscription_id")
        patterns = patterns_of(message) if wanted is None else ()
        for sub in list(self.subscriptions.values()):
            if sub.id == wanted or sub.patterns == patterns:
                self.hub.remove(sub)
                del self.subscriptions[sub.id]
                await self.outbox.put({"type": "unsubscribed", "subscription_id": sub.id})

    async def _catch_up(self, sub: Subscription, cursor: int) -> None:
        while True:
            sub.resynced = False
            cursor = await self._read_store(sub, cursor, await self.hub.head())
            while sub.buffer and not sub.resynced:
                if (message := sub.message_for(sub.buffer.popleft())) is not None:
                    await self.outbox.put(message)
            if not sub.resynced:
                break
        sub.catching_up = False
        await self.outbox.put({"type": "caught_up", "subscription_id": sub.id, "position": cursor})

    async def _read_store(self, sub: Subscription, cursor: int, head: int) -> int:
        """Send stored events after ``cursor`` up to the head and the first buffered event."""
        while not sub.resynced:
            target = max(head, sub.buffer[0]["position"] - 1 if sub.buffer else 0)
            if cursor >= target:
                break
            page = await asyncio.to_thread(self.feed, self.reader, cursor, sub.patterns, PAGE)
            for event in page.events:
                if (message := sub.message_for(event)) is not None:
                    await self.outbox.put(message)
            if page.next_after == cursor:  # the feed read model is behind the log
                await asyncio.sleep(FEED_BEHIND_WAIT)
            cursor = page.next_after
        return cursor


async def authenticate(websocket: WebSocket, container: Container) -> UUID | None:
    """The user of ``?token=`` or of a first ``{"type": "auth", "token": …}`` message."""
    token = websocket.query_params.get("token")
    if token is None:
        try:
            first = json.loads(await asyncio.wait_for(websocket.receive_text(), AUTH_TIMEOUT))
        except (TimeoutError, ValueError, WebSocketDisconnect):
            return None
        if isinstance(first, dict) and first.get("type") == "auth":
            token = str(first.get("token") or "")
    token = (token or "").strip().removeprefix("Bearer ").strip()
    principals = websocket.app.state.principals
    if token.startswith(KEY_PREFIX):  # as for GET /api/v1/events, API keys have no such scope
        return None
    try:
        claims = container.tokens.verify_claims(token)
        found = principals.cached(claims) or await asyncio.to_thread(principals.load, claims)
    except InvalidToken:  # a bad or revoked token, or a user who is gone or deactivated
        return None
    return UUID(str(found.user_id))


async def serve(websocket: WebSocket, session_id: str | None) -> None:
    """Accept, authenticate (close 4401 otherwise) and serve one WebSocket client."""
    container: Container = websocket.app.state.container
    await websocket.accept()
    reader = await authenticate(websocket, container)
    if reader is None:
        await websocket.close(CLOSE_UNAUTHORIZED, "authentication required: a valid token")
        return
    hub: LiveHub = websocket.app.state.live
    hello = {"type": "authenticated", "user_id": str(reader), "session_id": session_id}
    if session_id is not None:  # Behflow's chat session: its messages are this aggregate's events
        hello["conversation_id"] = str(conversation_id_of(reader, session_id))
    await websocket.send_text(json.dumps(hello))
    settings = container.settings
    session = LiveSession(websocket, hub, reader, container.events.read, settings.ws_outbox_size)
    await session.run(settings.ws_heartbeat_seconds)
