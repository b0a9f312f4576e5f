"""When to try a webhook delivery again, and when to stop trying an endpoint for a while.

Pure policy, no I/O: the retry schedule with jitter, ``Retry-After`` parsing and the per-endpoint
circuit breaker. Every "now" is passed in by the caller, who reads it from ``clock.now`` (one
clock, so freezegun can move it in tests).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

# Immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: the delay before each attempt.
DEFAULT_SCHEDULE: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
RETRY_AFTER_MAX = timedelta(days=1)


def now() -> datetime:
    """The one clock of webhook delivery (aware UTC)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class RetrySchedule:
    """The delay before each attempt (the first is usually 0) and a relative jitter."""

    delays: tuple[float, ...] = DEFAULT_SCHEDULE
    jitter: float = 0.2
    rand: Callable[[], float] = field(default=random.random, compare=False)

    def __post_init__(self) -> None:
        if not self.delays or any(d < 0 for d in self.delays):
            raise ValueError("the retry schedule needs at least one delay, none negative")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")

    @property
    def attempts(self) -> int:
        """How many attempts a delivery gets before it is dead."""
        return len(self.delays)

    def delay_before(self, attempt: int) -> timedelta:
        """The jittered delay before attempt ``attempt`` (1-based), within ±jitter of the plan."""
        planned = self.delays[min(attempt, self.attempts) - 1]
        spread = 1 + self.jitter * (2 * self.rand() - 1)
        return timedelta(seconds=planned * spread)

    def next_attempt_at(
        self, attempts_made: int, at: datetime, retry_after: timedelta | None = None
    ) -> datetime | None:
        """When to try again after ``attempts_made`` failed attempts; None when none is left.

        A ``Retry-After`` longer than the planned delay wins (capped at one day).
        """
        if attempts_made >= self.attempts:
            return None
        delay = self.delay_before(attempts_made + 1)
        if retry_after is not None:
            delay = max(delay, min(retry_after, RETRY_AFTER_MAX))
        return at + delay


def retry_after(value: str | None, at: datetime) -> timedelta | None:
    """A ``Retry-After`` header (seconds or an HTTP date) as a delay from ``at``; None if absent
    or unreadable."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return timedelta(seconds=int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - at, timedelta(0))


@dataclass
class CircuitBreaker:
    """One endpoint's breaker: opens after ``threshold`` failures in a row, lets one trial
    through after ``cooldown``, and closes on its success (opens again, twice as long, on its
    failure, up to ``max_cooldown``)."""

    threshold: int = 5
    cooldown: timedelta = timedelta(seconds=30)
    max_cooldown: timedelta = timedelta(minutes=10)
    failures: int = 0
    open_until: datetime | None = None
    _current: timedelta | None = None
    _trial: bool = False

    def allows(self, at: datetime) -> bool:
        """May a request go to the endpoint now? In half-open state, only one at a time."""
        if self.open_until is None:
            return True
        if at < self.open_until or self._trial:
            return False
        self._trial = True
        return True

    def blocks(self, at: datetime) -> bool:
        """True while no request may start (open, or its one trial is running); no side effect."""
        return self.open_until is not None and (at < self.open_until or self._trial)

    @property
    def is_open(self) -> bool:
        """True while requests are held back (open or half-open)."""
        return self.open_until is not None

    def succeeded(self) -> None:
        """A request got a 2xx: close."""
        self.failures = 0
        self.open_until = None
        self._current = None
        self._trial = False

    def failed(self, at: datetime) -> None:
        """A request failed: count it, and open (or re-open) when it is one too many."""
        self.failures += 1
        if self._trial or (self.open_until is None and self.failures >= self.threshold):
            self._current = (
                self.cooldown
                if self._current is None
                else min(self._current * 2, self.max_cooldown)
            )
            self.open_until = at + self._current
            self._trial = False
