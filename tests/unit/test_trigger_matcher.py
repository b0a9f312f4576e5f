"""The trigger matcher on the in-memory Ledger: one run per matching event (redeliveries
included), a trigger sees only its owner's events, and a filtered event is noted once."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest
from argon2 import PasswordHasher

from application.context import CommandContext
from application.credential import CredentialVault
from application.flow import FlowCommands
from application.ledger import Ledger
from application.task import TaskCommands
from application.trigger import TriggerCommands
from application.trigger_matcher import TriggerMatcher, passes
from domain.run import Run
from domain.trigger import Trigger, event_run_id
from domain.trigger_outcome import TriggerOutcome
from projections.envelope import envelope, event_id
from projections.event_alias import EventMatcher
from tests.unit.engine_driver import CTX, OWNER, Driver

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
STRANGER = uuid4()


class Source:
    """The read model the matcher queries, from the ledger: triggers and owners."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.triggers: list[UUID] = []

    def event_triggers(self, trigger_id: UUID | None = None) -> list[dict[str, Any]]:
        rows = []
        for tid in self.triggers:
            t: Trigger = self.ledger.repository.get(tid)
            if t.enabled and not t.deleted and trigger_id in (None, tid):
                rows.append({"trigger_id": t.id, "owner_id": t.owner_id, "config": t.config})
        return rows

    def reader_of(self, aggregate_id: UUID) -> UUID | None:
        return getattr(self.ledger.repository.get(aggregate_id), "owner_id", None)


@pytest.fixture
def driver():
    ledger = Ledger(credentials=CredentialVault("secret", hasher=FAST))
    source = Source(ledger)
    matcher = TriggerMatcher(
        ledger, source, lambda e: envelope(e, None), lambda p: EventMatcher(p).matches
    )
    found = Driver(ledger, matcher)
    found.source = source  # type: ignore[attr-defined]
    yield found
    ledger.close()


def settle(driver: Driver) -> None:
    """React to every new event, as the runner does (it asks handles() for each)."""
    while True:
        found = driver.ledger.recorder.select_notifications(start=driver.position + 1, limit=100)
        if not found:
            return
        for n in found:
            driver.position = n.id
            event = driver.ledger.mapper.to_domain_event(n)
            key = event_id(event.originator_id, event.originator_version)
            driver.engine.react(n.topic, event, key).settle()


def trigger(driver: Driver, **config: Any) -> Trigger:
    flow = driver.ledger[FlowCommands].define_flow(CTX, OWNER, {"name": "f", "steps": []})
    written = driver.ledger[TriggerCommands].define_trigger(
        CTX, OWNER, "event_based", flow.aggregate.id, config
    )
    driver.source.triggers.append(written.aggregate.id)  # type: ignore[attr-defined]
    settle(driver)
    return written.aggregate


def recorded(driver: Driver, kind: type) -> list[Any]:
    topic = kind.TOPIC  # type: ignore[attr-defined]
    found = driver.ledger.recorder.select_notifications(start=1, limit=10_000, topics=[topic])
    return [driver.ledger.mapper.to_domain_event(n) for n in found]


def complete_a_task(driver: Driver, owner: UUID = OWNER) -> Any:
    context = CommandContext(actor=f"user:{owner}")
    tasks = driver.ledger[TaskCommands]
    task = tasks.create_task(context, owner, "t").aggregate
    tasks.update_task(context, owner, task.id, {"status": "completed"})
    settle(driver)
    return task


def test_a_matching_event_starts_one_run_even_when_it_is_delivered_again(driver):
    made = trigger(driver, event="task.completed")  # the derived name of a status change
    task = complete_a_task(driver)
    (run,) = recorded(driver, Run.Created)
    change = event_id(task.id, 2)
    assert run.originator_id == event_run_id(made.id, change) and run.trigger == "event"
    notification = driver.ledger.recorder.select_notifications(
        start=1, limit=1000, topics=["task.status_changed"]
    )[0]
    again = driver.ledger.mapper.to_domain_event(notification)
    driver.engine.react("task.status_changed", again, change).settle()  # redelivered
    assert len(recorded(driver, Run.Created)) == 1
    assert len(recorded(driver, TriggerOutcome.Fired)) == 1


def test_a_trigger_does_not_see_the_events_of_another_user(driver):
    trigger(driver, event="task.*")
    complete_a_task(driver, owner=STRANGER)
    assert recorded(driver, Run.Created) == []


def test_an_event_the_filter_refuses_is_noted_at_most_once_a_minute(driver):
    trigger(driver, event="task.*", filter={"data.to_status": "completed"})
    complete_a_task(driver)
    complete_a_task(driver)
    assert len(recorded(driver, Run.Created)) == 2
    reasons = [s.reason for s in recorded(driver, TriggerOutcome.Skipped)]
    assert reasons == ["filtered"]  # two task.created within the minute: noted once


def test_a_disabled_trigger_starts_nothing(driver):
    made = trigger(driver, event="task.*")
    driver.ledger[TriggerCommands].toggle_trigger(CTX, OWNER, made.id, False)
    settle(driver)
    complete_a_task(driver)
    assert recorded(driver, Run.Created) == []


def test_a_filter_compares_dotted_envelope_paths():
    seen = {"type": "task.status_changed", "data": {"to_status": "completed", "n": 1}}
    assert passes(seen, {"data.to_status": "completed", "type": "task.status_changed"})
    assert not passes(seen, {"data.to_status": "failed"})
    assert not passes(seen, {"data.missing.deeper": None})
