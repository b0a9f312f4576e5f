"""Rate limits per user, with X-RateLimit-* headers on every response and 429 past the limit.

A user's access tokens and all of their API keys spend one budget (a user cannot multiply it by
making keys); anonymous requests spend their client address's. A key created with a
``rate_limit`` of its own also spends that key's budget, so one script's key can be held below its
user's (never above: the user's budget is spent too). The address is the connection's,
or the one a proxy listed in ``LEDGERFLOW_TRUSTED_PROXIES`` forwards: a header cannot change it.

Built on the maintained ``limits`` library: its asyncio strategies keep the event loop free, with
Redis storage (shared by every API instance) when ``LEDGERFLOW_REDIS_URL`` is set, in-process memory
otherwise. If Redis is unreachable the request is let through (availability over strictness) and
a warning is logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from uuid import UUID

from limits import RateLimitItem, parse, storage, strategies
from limits.aio import strategies as aio_strategies
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from application.api_keys import KEY_PREFIX, parse_key
from application.error import InvalidToken
from application.token import TokenIssuer
from interfaces.api.deps import bearer

log = logging.getLogger(__name__)
EXEMPT = ("/health", "/docs", "/redoc", "/openapi.json", "/metrics", "/ready", "/api/v1/health")


@dataclass(frozen=True)
class Budget:
    """One budget a request spends: its counter's key and its rate (None: the default rate)."""

    key: str
    rate: str | None = None


Spends = str | Sequence[Budget] | None  # what ``identify`` answers (a str: one default budget)


@lru_cache(maxsize=1024)
def rate_item(rate: str) -> RateLimitItem:
    """A rate in the ``limits`` syntax, parsed once."""
    return parse(rate)


def per_second(rate: str) -> float:
    """How many requests a second a rate in the ``limits`` syntax allows on average."""
    item = rate_item(rate)
    return item.amount / item.get_expiry()


def _limits_uri(redis_url: str | None, prefix: str) -> str:
    if redis_url is None:
        return f"{prefix}memory://"
    scheme = "redis+" if redis_url.startswith("unix") else ""
    return f"{prefix}{scheme}{redis_url}"


class RateLimit:
    """ASGI middleware: one fixed window per principal (user id, else client address), plus
    one per API key that has a limit of its own."""

    def __init__(
        self,
        app: ASGIApp,
        rate: str,
        redis_url: str | None,
        identify: Callable[[str], Awaitable[Spends]],
    ) -> None:
        self.app = app
        self.item: RateLimitItem = parse(rate)
        options: dict[str, Any] = {"implementation": "redispy"} if redis_url else {}
        self.limiter = aio_strategies.FixedWindowRateLimiter(
            storage.storage_from_string(_limits_uri(redis_url, "async+"), **options)
        )
        self.identify = identify

    async def _budgets(self, scope: Scope) -> Sequence[Budget]:
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        if authorization:
            try:
                spends = await self.identify(authorization)
            except InvalidToken:
                spends = None
            if spends is not None:
                return [Budget(spends)] if isinstance(spends, str) else spends
        client = scope.get("client") or ("unknown", 0)
        return [Budget(f"ip:{client[0]}")]

    async def _spend(self, budgets: Sequence[Budget]) -> tuple[bool, RateLimitItem, Any]:
        """Hit each budget, narrowest first (a key's own before its user's), stopping at the
        first that refuses: a refused request spends nothing broader. Answers whether it is
        allowed and the budget to report in the headers (the refusing one, else the tightest)."""
        shown: tuple[RateLimitItem, Any] | None = None
        for budget in budgets:
            item = self.item if budget.rate is None else rate_item(budget.rate)
            allowed = await self.limiter.hit(item, "api", budget.key)
            stats = await self.limiter.get_window_stats(item, "api", budget.key)
            if shown is None or not allowed or stats.remaining < shown[1].remaining:
                shown = (item, stats)
            if not allowed:
                break
        assert shown is not None
        return allowed, *shown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT):
            await self.app(scope, receive, send)
            return
        budgets = await self._budgets(scope)
        try:
            allowed, item, stats = await self._spend(budgets)
        except Exception as error:  # the limiter's store is down: let the request through
            log.warning("rate limit store unavailable (%s); not limiting", error)
            await self.app(scope, receive, send)
            return
        headers = [
            (b"x-ratelimit-limit", str(item.amount).encode()),
            (b"x-ratelimit-remaining", str(max(0, stats.remaining)).encode()),
            (b"x-ratelimit-reset", str(math.ceil(stats.reset_time)).encode()),
        ]
        if not allowed:
            await self._refuse(send, headers, stats.reset_time)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).extend(headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    async def _refuse(send: Send, headers: list[tuple[bytes, bytes]], reset: float) -> None:
        retry_after = max(1, math.ceil(reset - time.time()))
        body = json.dumps(
            {"detail": f"Rate limit exceeded; retry in {retry_after} s", "code": "RATE_LIMITED"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    *headers,
                    (b"retry-after", str(retry_after).encode()),
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class RateKeys:
    """Whose budgets a request spends: its user's, for an access token or any of their API keys,
    and a key's own when it has a limit of its own.

    A key's owner and limit never change: they are looked up once (in a thread) and remembered."""

    def __init__(
        self,
        tokens: TokenIssuer,
        key_owner: Callable[[str], tuple[UUID, str | None]],
        capacity: int = 100_000,
    ) -> None:
        self._tokens = tokens
        self._key_owner = key_owner
        self._owners: OrderedDict[UUID, tuple[UUID, str | None]] = OrderedDict()
        self._capacity = capacity

    async def __call__(self, authorization: str) -> Sequence[Budget]:
        """``user:<id>`` (after ``key:<id>`` with its rate); ``InvalidToken`` for a token or key
        that is not valid."""
        token = bearer(authorization)
        if not token.startswith(KEY_PREFIX):
            return [Budget(f"user:{self._tokens.verify(token)}")]
        key_id = parse_key(token)[0]
        known = self._owners.get(key_id)
        if known is None:
            known = await asyncio.to_thread(self._key_owner, token)
            self._owners[key_id] = known
            if len(self._owners) > self._capacity:
                self._owners.popitem(last=False)
        owner, rate = known
        user = Budget(f"user:{owner}")
        return [user] if rate is None else [Budget(f"key:{key_id}", rate), user]


class LoginThrottle:
    """Limits login attempts against password guessing without locking the real user out.

    An attacker's address is slowed per (username, address) pair and per address; a separate,
    higher ceiling per username stops a guess spread over many addresses. The real user, from
    another address, keeps their own pair's budget until that ceiling."""

    def __init__(
        self, per_pair: str, per_address: str, per_username: str, redis_url: str | None
    ) -> None:
        self.items = {
            "pair": parse(per_pair),
            "ip": parse(per_address),
            "user": parse(per_username),
        }
        self.limiter = strategies.FixedWindowRateLimiter(
            storage.storage_from_string(_limits_uri(redis_url, ""))
        )

    def attempt(self, username: str, address: str) -> float | None:
        """Count one attempt; None when allowed, else seconds until another is allowed."""
        name = username.strip().casefold()
        keys = {"pair": f"{name}\n{address}", "ip": address, "user": name}
        try:
            refused = [
                kind
                for kind, key in keys.items()
                if not self.limiter.hit(self.items[kind], "login", kind, key)
            ]
            if not refused:
                return None
            resets = [
                self.limiter.get_window_stats(self.items[k], "login", k, keys[k]).reset_time
                for k in refused
            ]
        except Exception as error:  # the store is down: do not lock everybody out
            log.warning("login throttle store unavailable (%s); not limiting", error)
            return None
        return max(1.0, max(resets) - time.time())
