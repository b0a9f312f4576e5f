"""The webhook dispatcher: sends due deliveries, records every attempt, schedules retries.

Worker threads claim due deliveries (``webhook_outbox``: ``FOR UPDATE SKIP LOCKED`` and a lease,
so dispatchers in several processes compete safely and a killed one's claims are retaken), check
the URL again (SSRF: DNS can change), send with a timeout and without following redirects, and
record the attempt. A failure is retried on the schedule with jitter (``Retry-After`` honoured);
after the last attempt the delivery is dead. A 410 disables the webhook; so does failing
continuously for ``webhook_disable_after``. Each endpoint gets at most
``webhook_endpoint_concurrency`` workers and a circuit breaker, so a slow or dead endpoint never
holds up the others. Workers wake on the fan-out's NOTIFY and also poll.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

import httpx
import psycopg

from application import webhook_retry
from application.webhook_retry import CircuitBreaker, RetrySchedule, retry_after
from application.webhook_signing import signed_headers
from projections.schema import PROJECTION_CHANNEL
from projections.webhook_delivery import WAKE_CHANNEL, WEBHOOK_DELIVERIES
from projections.webhook_outbox import Claimed, DeliveryOutbox, Outcome

log = logging.getLogger(__name__)
USER_AGENT = "Ledgerflow-Webhooks/1.0"


class EndpointGates:
    """Per endpoint: how many sends are in flight here, and its circuit breaker."""

    def __init__(self, limit: int, breaker: Callable[[], CircuitBreaker]) -> None:
        self._limit = limit
        self._new_breaker = breaker
        self._lock = threading.Lock()
        self._in_flight: dict[UUID, int] = {}
        self._breakers: dict[UUID, CircuitBreaker] = {}

    def closed(self, at: datetime) -> set[UUID]:
        """Endpoints that must not be claimed now: at their limit, or their breaker open."""
        with self._lock:
            full = {w for w, n in self._in_flight.items() if n >= self._limit}
            return full | {w for w, b in self._breakers.items() if b.blocks(at)}

    def enter(self, webhook: UUID, at: datetime) -> bool:
        """Take a slot for ``webhook``; False if its limit or breaker says no."""
        with self._lock:
            breaker = self._breakers.setdefault(webhook, self._new_breaker())
            if self._in_flight.get(webhook, 0) >= self._limit or not breaker.allows(at):
                return False
            self._in_flight[webhook] = self._in_flight.get(webhook, 0) + 1
            return True

    def leave(self, webhook: UUID, ok: bool, at: datetime) -> None:
        """Give the slot back and tell the breaker how it went."""
        with self._lock:
            self._in_flight[webhook] -= 1
            breaker = self._breakers[webhook]
            breaker.succeeded() if ok else breaker.failed(at)


class Sender:
    """Signs and POSTs one delivery: a timeout, no redirects, the URL checked just before."""

    def __init__(
        self,
        client: httpx.Client,
        guard: Callable[[str], None],
        open_secret: Callable[[str], str],
    ) -> None:
        self._client = client
        self._guard = guard
        self._open = open_secret

    def send(self, delivery: Claimed, at: datetime) -> Outcome:
        """POST the envelope; any exception becomes a failed Outcome."""
        body = json.dumps(delivery.envelope, separators=(",", ":")).encode()
        started = time.perf_counter()
        try:
            self._guard(delivery.url)
            secrets = [self._open(s) for s in delivery.sealed_secrets(at)]
            headers = signed_headers(secrets, f"msg_{delivery.id}", int(at.timestamp()), body)
            headers |= {"content-type": "application/json", "user-agent": USER_AGENT}
            response = self._client.post(delivery.url, content=body, headers=headers)
        except Exception as error:
            return Outcome(None, _ms(started), f"{type(error).__name__}: {error}"[:500])
        code = response.status_code
        return Outcome(
            code,
            _ms(started),
            None if 200 <= code < 300 else f"HTTP {code}",
            retry_after(response.headers.get("retry-after"), at),
        )


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


class WebhookDispatcher:
    """Worker threads that deliver due webhooks until ``stop``."""

    def __init__(
        self,
        outbox: DeliveryOutbox,
        conninfo: str,
        make_sender: Callable[[], Sender],
        disable: Callable[[UUID, str], None],
        schedule: RetrySchedule,
        gates: EndpointGates,
        *,
        workers: int = 8,
        batch: int = 5,
        send_timeout: timedelta = timedelta(seconds=10),
        lease: timedelta = timedelta(seconds=60),
        disable_after: timedelta = timedelta(days=5),
        poll_interval: float = 1.0,
        clock: Callable[[], datetime] = webhook_retry.now,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.outbox = outbox
        self._conninfo = conninfo
        self.make_sender = make_sender
        self._disable = disable
        self.schedule = schedule
        self.gates = gates
        self._workers = workers
        self._batch = batch
        self._send_timeout = send_timeout
        self._lease = lease
        self._disable_after = disable_after
        self._poll = poll_interval
        self._clock = clock
        self._on_close = on_close
        self._stop = threading.Event()
        self._news = threading.Condition()
        self._generation = 0
        self._threads: list[threading.Thread] = []

    # Lifecycle

    def start(self) -> None:
        """Start the listener and the worker threads."""
        self._stop.clear()
        targets = [self._listen] + [self._work] * self._workers
        for n, target in enumerate(targets):
            thread = threading.Thread(target=target, name=f"webhook-dispatcher-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Finish the sends in flight and stop."""
        self._stop.set()
        self._nudge(everyone=True)
        for thread in self._threads:
            thread.join(timeout=15)
        self._threads.clear()
        if self._on_close is not None:
            self._on_close()

    # The work

    def run_once(self, sender: Sender | None = None) -> int:
        """Deliver everything due now, in the calling thread; return how many were tried."""
        sender = sender or self.make_sender()
        tried = 0
        while self.step(sender):
            tried += 1
        return tried

    def step(self, sender: Sender) -> bool:
        """Claim a few due deliveries and try them in turn; False when none could be claimed."""
        at = self._clock()
        claimed = self.outbox.claim(at, self._lease, self.gates.closed(at), self._batch)
        if claimed:
            self._nudge()  # there may be more: let another worker look while these go out
        for delivery in claimed:
            self._try(sender, delivery, at + self._lease)
        return bool(claimed)

    def _try(self, sender: Sender, delivery: Claimed, lease_until: datetime) -> None:
        at = self._clock()
        # Not when stopping, nor a send that could outlast the lease (another dispatcher may
        # retake it then), nor past the endpoint's slots or its open breaker: leave it for later.
        late = at + self._send_timeout >= lease_until
        if self._stop.is_set() or late or not self.gates.enter(delivery.webhook_id, at):
            self.outbox.release(delivery.id)
            return
        outcome = sender.send(delivery, at)
        done = self._clock()
        self.gates.leave(delivery.webhook_id, outcome.ok, done)
        self._record(delivery, outcome, done)
        self._nudge()  # a slot is free again: idle workers may take the endpoint's next one

    def _record(self, delivery: Claimed, outcome: Outcome, at: datetime) -> None:
        made = delivery.attempts + 1
        next_at = (
            None if outcome.ok else self.schedule.next_attempt_at(made, at, outcome.retry_after)
        )
        failing_since = self.outbox.record(delivery, outcome, at, next_at)
        if outcome.status_code == 410:
            self._turn_off(delivery.webhook_id, "the endpoint answered 410 Gone")
        elif failing_since is not None and at - failing_since >= self._disable_after:
            self._turn_off(
                delivery.webhook_id, f"failing continuously since {failing_since.isoformat()}"
            )

    def _turn_off(self, webhook: UUID, reason: str) -> None:
        log.warning("webhook %s disabled: %s", webhook, reason)
        self._disable(webhook, reason)
        self.outbox.forget_failures(webhook)

    def _work(self) -> None:
        sender = self.make_sender()
        while not self._stop.is_set():
            seen = self._generation
            try:
                if self.step(sender):
                    continue
            except (psycopg.Error, OSError) as error:
                log.warning("webhook dispatcher: %s; retrying", error)
            except Exception:  # a worker must outlive any one delivery's surprise
                log.exception("webhook dispatcher: unexpected error; carrying on")
            with self._news:
                if self._generation == seen:
                    self._news.wait(self._poll)

    def _nudge(self, everyone: bool = False) -> None:
        # One idle worker is enough: one that finds work nudges the next after each send.
        with self._news:
            self._generation += 1
            self._news.notify_all() if everyone else self._news.notify()

    def _listen(self) -> None:
        # Wake the workers when the fan-out commits new deliveries or a route queues some.
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    conn.execute(f'LISTEN "{PROJECTION_CHANNEL}"')
                    conn.execute(f'LISTEN "{WAKE_CHANNEL}"')
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.2):
                            if note.channel == WAKE_CHANNEL or WEBHOOK_DELIVERIES in note.payload:
                                self._nudge()
            except psycopg.Error as error:
                log.warning("webhook dispatcher listener: %s; reconnecting", error)
                self._stop.wait(1.0)


def http_client(timeout: float) -> httpx.Client:
    """A client that never follows redirects and gives up after ``timeout`` seconds."""
    return httpx.Client(follow_redirects=False, timeout=timeout, trust_env=False)
