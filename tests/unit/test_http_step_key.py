"""An http step's call is at least once: a call repeated after a crash carries the same
Idempotency-Key (derived from run, step and attempt), a retry a new one, and a key the step's
own headers set is kept."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from application.credential import CredentialVault
from application.flow import FlowCommands
from application.ledger import Ledger
from application.run_engine import RunEngine
from application.step_types import HttpAnswer, HttpRequest
from tests.unit.engine_driver import Driver

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class Crash(BaseException):
    """The worker dies (not an error the step could catch)."""


class Receiver:
    """Records each request; crashes the engine right after the first call when told to."""

    def __init__(self, *statuses: int, crash_once: bool = False) -> None:
        self.statuses = list(statuses) or [200]
        self.crash_once = crash_once
        self.requests: list[HttpRequest] = []

    def __call__(self, request: HttpRequest) -> HttpAnswer:
        self.requests.append(request)
        if self.crash_once:
            self.crash_once = False
            raise Crash()  # the call was made; its outcome was never recorded
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return HttpAnswer(status, "{}")


def driver_with(receiver: Receiver) -> Driver:
    ledger = Ledger(credentials=CredentialVault("secret", hasher=FAST))
    ledger.register(FlowCommands(ledger, http=receiver))
    return Driver(ledger, RunEngine(ledger))


def call(**extra):
    return {
        "key": "call",
        "name": "call",
        "type": "http",
        "config": {"url": "http://x.test/"},
    } | extra


def keys(receiver: Receiver) -> list[str]:
    return [r.headers.get("Idempotency-Key", "") for r in receiver.requests]


def test_a_call_repeated_after_a_crash_carries_the_same_key_and_succeeds_once():
    receiver = Receiver(crash_once=True)
    driver = driver_with(receiver)
    with pytest.raises(Crash):
        driver.run([call()])
    driver.position = 0  # the reactor's position was not saved: the reaction runs again
    driver.settle()
    first, again = keys(receiver)
    assert first == again and len(first) == 36
    run = driver.get(created_run(driver))
    assert run.status == "succeeded"
    assert driver.seen.count("run.step_succeeded") == 1


def created_run(driver: Driver):
    created = next(
        n
        for n in driver.ledger.recorder.select_notifications(start=1, limit=100)
        if n.topic == "run.created"
    )
    return created.originator_id


def test_a_retry_is_a_new_attempt_with_a_new_key():
    receiver = Receiver(500, 200)
    driver = driver_with(receiver)
    run = driver.run([call(max_attempts=2, retry_backoff_seconds=1)])
    driver.fire_all()
    assert driver.get(run.id).status == "succeeded"
    first, second = keys(receiver)
    assert first != second


def test_a_key_the_steps_headers_set_is_kept():
    receiver = Receiver()
    driver = driver_with(receiver)
    driver.run([call(config={"url": "http://x.test/", "headers": {"idempotency-key": "mine"}})])
    (request,) = receiver.requests
    assert request.headers == {"idempotency-key": "mine"}
