"""The trigger matcher on the in-memory Ledger: one run per matching event (redeliveries
included), a trigger sees only its owner's events, and a filtered event is noted once."""

from __future__ import annotations

from collections.abc import Sequence
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
from application.trigger_index import passes
from application.trigger_matcher import TriggerMatcher
from domain.run import Run
from domain.trigger import Trigger, event_run_id
from domain.trigger_outcome import TriggerOutcome
from interfaces.features.triggers import TriggerPattern
from projections.envelope import envelope, event_id
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

    def readers_of(self, aggregate_ids: Sequence[UUID]) -> dict[UUID, UUID]:
        owners = {
            i: getattr(self.ledger.repository.get(i), "owner_id", None) for i in aggregate_ids
        }
        return {i: owner for i, owner in owners.items() if owner is not None}


@pytest.fixture
def driver():
    ledger = Ledger(credentials=CredentialVault("secret", hasher=FAST))
    source = Source(ledger)
    matcher = TriggerMatcher(ledger, source, lambda e: envelope(e, None), TriggerPattern)
    found = Driver(ledger, matcher)
    found.source = source  # type: ignore[attr-defined]
    yield found
    ledger.close()


def settle(driver: Driver) -> None:
    """React to every new event, as the runner does: the batch prepared, then each event the
    matcher handles (asked again before each, since a trigger event changes the answer)."""
    matcher = driver.engine
    while True:
        found = driver.ledger.recorder.select_notifications(start=driver.position + 1, limit=100)
        if not found:
            return
        events = [(n.topic, driver.ledger.mapper.to_domain_event(n)) for n in found]
        matcher.prepare([(topic, e) for topic, e in events if matcher.handles(topic)])
        for n, (topic, event) in zip(found, events, strict=True):
            driver.position = n.id
            if matcher.handles(topic):
                key = event_id(event.originator_id, event.originator_version)
                matcher.react(topic, event, key).settle()


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


def test_the_matcher_handles_only_the_types_an_enabled_trigger_can_match(driver):
    matcher = driver.engine
    assert matcher.handles("user.created")  # the index is not loaded yet: every type
    made = trigger(driver, event="task.completed")  # an alias of a status change
    assert matcher.handles("task.status_changed") and matcher.handles("task.completed")
    assert not matcher.handles("task.created") and not matcher.handles("user.created")
    assert matcher.handles("trigger.created") and not matcher.handles("trigger.fired")
    commands = driver.ledger[TriggerCommands]
    commands.toggle_trigger(CTX, OWNER, made.id, False)
    settle(driver)
    assert not matcher.handles("task.status_changed")
    commands.toggle_trigger(CTX, OWNER, made.id, True)
    settle(driver)
    assert matcher.handles("task.status_changed")
    commands.update_trigger(CTX, OWNER, made.id, {"config": {"event": "user.*"}})
    settle(driver)
    assert matcher.handles("user.created") and not matcher.handles("task.status_changed")
    commands.delete_trigger(CTX, OWNER, made.id)
    settle(driver)
    assert not matcher.handles("user.created")


def test_among_many_triggers_an_event_starts_only_those_whose_filter_it_passes(driver):
    names = [f"n{i}" for i in range(30)]
    made = [trigger(driver, event="task.created", filter={"data.name": n}) for n in names]
    narrower = trigger(driver, event="task.created", filter={"data.name": "n7", "data.x": 1})
    unfiltered = trigger(driver, event="task.*")
    driver.ledger[TaskCommands].create_task(CTX, OWNER, "n7")
    settle(driver)
    started = [r.trigger_id for r in recorded(driver, Run.Created)]
    assert sorted(started) == sorted([made[7].id, unfiltered.id])
    assert narrower.id not in started


def test_the_triggers_a_batch_selects_are_read_in_one_query_before_its_reactions(
    driver, monkeypatch
):
    made = [trigger(driver, event="task.created", filter={"data.name": f"n{i}"}) for i in range(5)]
    trigger(driver, event="task.created", filter={"data.name": "never"})
    reads: list[tuple[str, set[UUID]]] = []
    load_many = driver.ledger.load_many

    def counted(kind, ids):
        reads.append((kind.__name__, set(ids)))
        return load_many(kind, ids)

    monkeypatch.setattr(driver.ledger, "load_many", counted)
    for i in (0, 2, 4, 2):
        driver.ledger[TaskCommands].create_task(CTX, OWNER, f"n{i}")
    monkeypatch.setattr(driver.ledger, "load", lambda *a, **k: pytest.fail("a trigger loaded"))
    settle(driver)  # the four events in one batch
    assert reads[0] == ("Trigger", {made[i].id for i in (0, 2, 4)})  # the selected ones only
    assert [kind for kind, _ in reads] == ["Trigger", "Flow"]
    started = [r.trigger_id for r in recorded(driver, Run.Created)]
    assert sorted(started) == sorted(made[i].id for i in (0, 2, 4, 2))


def test_only_events_that_do_not_name_their_reader_wait_for_the_read_models(driver):
    named = {"task.created": OWNER}
    matcher = TriggerMatcher(
        driver.ledger,
        driver.source,  # type: ignore[attr-defined]
        lambda e: envelope(e, None),
        TriggerPattern,
        named_by=lambda e: named.get(e.TOPIC),
    )
    made = trigger(driver, event="task.*")
    task = complete_a_task(driver)
    created, changed = driver.ledger.repository.event_store.get(task.id)
    (defined,) = driver.ledger.repository.event_store.get(made.id)
    assert matcher.waits_for("task.created", created)  # the index is not loaded yet
    matcher.prepare([])
    assert not matcher.waits_for("task.created", created)  # its reader is the event's
    assert matcher.waits_for("task.status_changed", changed)  # its reader is in the feed
    assert matcher.waits_for("trigger.created", defined)  # the index reads the triggers
    matcher.prepare([("task.created", created)])
    reaction = matcher.react("task.created", created, event_id(task.id, 1))
    reaction.settle()
    # Its reader read from the event: the run the driver's matcher started for it, no other
    # (one for the task created, one for its status change).
    assert [r.trigger_id for r in recorded(driver, Run.Created)].count(made.id) == 2
