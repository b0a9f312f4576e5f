"""A flow's agent step on the in-memory persistence: the run engine creates the dispatchable task,
an agent's lease and report finish the step (``StepTaskOutcomes``), retries make a new task, and a
replay of every event creates and records nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from argon2 import PasswordHasher

from application.agent_step import AGENT_STEP, StepTaskOutcomes
from application.context import CommandContext
from application.credential import CredentialVault
from application.dispatch import DispatchCommands, Reporter
from application.flow import FlowCommands
from application.ledger import Ledger
from application.reactor import Reaction, Reactor, Timer
from application.run_engine import RunEngine
from application.step_types import FLOW_STEP_KINDS
from application.task import TaskCommands
from domain.flow_step import InvalidStepConfig, normalize_steps
from domain.run import Run, task_id_for
from domain.task import Task, TaskNotFound
from tests.unit.engine_driver import CTX, OWNER, Driver

KINDS = (*FLOW_STEP_KINDS, AGENT_STEP)  # the step types of the flows and agents features

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
AGENT = uuid4()
REPORT = {
    "summary": "Fixed",
    "output": "PR #1",
    "pr_url": "https://x.test/pr/1",
    "result_files": {"a": 1},
}


class Both(Reactor):
    """The run engine and the step outcomes, seen by the driver as one reactor (each reacts to
    its own topics, as their two runners do)."""

    name = "both"

    def __init__(self, ledger: Ledger) -> None:
        self.members: list[Reactor] = [
            RunEngine(ledger),
            StepTaskOutcomes(ledger),
        ]
        super().__init__(ledger)

    @property
    def topics(self) -> frozenset[str]:
        return frozenset().union(*(m.topics for m in self.members))

    def react(self, topic: str, domain_event: Any, event_id: UUID) -> Reaction:
        reactions = [
            m.react(topic, domain_event, event_id) for m in self.members if topic in m.topics
        ]
        first = reactions[0]
        for other in reactions[1:]:
            first.scheduled.extend(other.scheduled)
            first.cancelled.extend(other.cancelled)
        return first

    def fire(self, timer: Timer) -> Reaction:
        return self.members[0].fire(timer)


@pytest.fixture
def driver():
    ledger = Ledger(credentials=CredentialVault("secret", hasher=FAST))
    ledger.register(FlowCommands(ledger, http=lambda request: None, kinds=KINDS))
    ledger.register(TaskCommands(ledger))
    ledger.register(DispatchCommands(ledger, 300, clock=lambda: NOW))
    yield Driver(ledger, Both(ledger))  # type: ignore[arg-type]
    ledger.close()


def agent_step(key="fix", **extra):
    config = {"capability": "fix-bug", "repo": "https://x.test/r", "context": {"issueId": 7}}
    return {"key": key, "name": "Fix it", "type": "agent", "config": config, **extra}


def lease(driver, task_id, agent=AGENT):
    ledger = driver.ledger
    load = lambda: ledger.load(Task, task_id, TaskNotFound)  # noqa: E731
    ledger.change(CTX, load, task_id, None, lambda t: t.lease(agent, NOW, 300))


def the_task(driver, run, attempt=1) -> Task:
    return driver.ledger.repository.get(task_id_for(run.id, run.steps[0]["step_id"], attempt))


def state(run: Run) -> dict[str, Any]:
    return run.step_state(run.steps[0]["step_id"])


def test_an_agent_step_queues_one_task_for_the_capability_and_waits(driver):
    run = driver.run(
        [agent_step(), {"key": "next", "name": "n", "type": "task", "config": {"name": "n"}}]
    )
    assert (run.status, state(run)["status"]) == ("waiting", "waiting")
    task = the_task(driver, run)
    assert (task.intent, task.repo, task.context, task.max_attempts) == (
        "fix-bug",
        "https://x.test/r",
        {"issueId": 7},
        1,
    )
    assert task.name == "Fix it" and task.owner_id == OWNER
    assert state(run)["task_id"] == str(task.id)


def test_the_agents_completion_succeeds_the_step_with_its_report_and_the_run_goes_on(driver):
    run = driver.run(
        [agent_step(), {"key": "next", "name": "n", "type": "task", "config": {"name": "n"}}]
    )
    task_id = the_task(driver, run).id
    lease(driver, task_id)
    driver.ledger[DispatchCommands].complete_task(CTX, Reporter(OWNER, AGENT), task_id, REPORT)
    driver.settle()
    run = driver.get(run.id)
    assert run.status == "succeeded"
    assert state(run)["result"] == {"task_id": str(task_id), "agent_id": str(AGENT), **REPORT}


def test_the_agents_failure_fails_the_attempt_and_a_retry_dispatches_a_new_task(driver):
    run = driver.run([agent_step(max_attempts=2, retry_backoff_seconds=1)])
    first = the_task(driver, run).id
    lease(driver, first)
    dispatch = driver.ledger[DispatchCommands]
    dispatch.fail_task(CTX, Reporter(OWNER, AGENT), first, "Repository clone failed")
    driver.settle()
    run = driver.get(run.id)
    assert state(run)["status"] == "pending" and "Repository clone failed" in state(run)["error"]
    driver.fire_all()
    run = driver.get(run.id)
    second = the_task(driver, run, attempt=2)
    assert state(run) | {"status": "waiting", "attempt": 2} == state(run)
    assert second.id != first and second.intent == "fix-bug"
    lease(driver, second.id)
    dispatch.fail_task(CTX, Reporter(OWNER, AGENT), second.id, "again")
    driver.settle()
    run = driver.get(run.id)
    assert run.status == "failed" and "the agent failed: again" in (run.error or "")


def test_a_lost_lease_only_hands_the_task_to_the_next_agent(driver):
    run = driver.run([agent_step()])
    task_id = the_task(driver, run).id
    lease(driver, task_id)
    dispatch = driver.ledger[DispatchCommands]
    dispatch.expire_lease(CTX, task_id, "agent_offline", AGENT)
    driver.settle()
    assert state(driver.get(run.id))["status"] == "waiting"
    other = uuid4()
    lease(driver, task_id, other)
    dispatch.complete_task(CTX, Reporter(OWNER, other), task_id, {"summary": "ok"})
    driver.settle()
    run = driver.get(run.id)
    assert run.status == "succeeded" and state(run)["result"]["agent_id"] == str(other)


def test_the_owner_cancelling_the_task_fails_the_step(driver):
    run = driver.run([agent_step()])
    task_id = the_task(driver, run).id
    driver.ledger[TaskCommands].cancel_task(CTX, OWNER, task_id, "not needed")
    driver.settle()
    run = driver.get(run.id)
    assert run.status == "failed"
    assert state(run)["error"] == "the task was cancelled: not needed"


def test_a_timed_out_agent_step_cancels_its_task_so_the_agent_stops(driver):
    run = driver.run([agent_step(timeout_seconds=60)])
    task_id = the_task(driver, run).id
    lease(driver, task_id)
    driver.fire_all()
    run = driver.get(run.id)
    assert run.status == "failed" and state(run)["error"] == "timed out"
    assert the_task(driver, run).status == "cancelled"


def test_cancelling_the_run_cancels_the_agents_task(driver):
    run = driver.run([agent_step()])
    driver.ledger[FlowCommands].cancel_run(CTX, OWNER, run.id, "stop")
    driver.settle()
    assert the_task(driver, driver.get(run.id)).status == "cancelled"


def test_a_replay_of_every_event_creates_and_records_nothing_twice(driver):
    run = driver.run([agent_step()])
    task_id = the_task(driver, run).id
    lease(driver, task_id)
    driver.ledger[DispatchCommands].complete_task(CTX, Reporter(OWNER, AGENT), task_id, REPORT)
    driver.settle()
    before = len(driver.seen)
    driver.position = 0  # both reactors crashed before saving their positions
    driver.settle()
    again = driver.seen[before:]
    assert again.count("task.created") == 1 and again.count("run.step_succeeded") == 1
    assert driver.get(run.id).status == "succeeded"


def test_a_task_step_that_waits_succeeds_when_its_owner_reports_it_complete(driver):
    step = {
        "key": "t",
        "name": "t",
        "type": "task",
        "config": {"name": "t", "wait_for_completion": True},
    }
    run = driver.run([step])
    task_id = the_task(driver, run).id
    driver.ledger[DispatchCommands].complete_task(
        CTX, Reporter(OWNER), task_id, {"summary": "done"}
    )
    driver.settle()
    run = driver.get(run.id)
    assert run.status == "succeeded"
    assert state(run)["result"] == {"task_id": str(task_id), "status": "completed"}


def test_events_the_outcome_records_carry_the_runs_correlation_id(driver):
    run = driver.run([agent_step()])
    task_id = the_task(driver, run).id
    lease(driver, task_id)
    agent_ctx = CommandContext(actor=f"agent:{AGENT}", correlation_id="agent-request")
    driver.ledger[DispatchCommands].complete_task(agent_ctx, Reporter(OWNER, AGENT), task_id, {})
    driver.settle()
    events = list(driver.ledger.events.get(run.id))
    assert type(events[-1]).__name__ == "Succeeded"
    assert events[-1].meta["correlation_id"] == "corr-run"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({}, "config.capability"),
        ({"capability": "x", "context": [1]}, "config.context"),
        ({"capability": "x", "required_tools": "git"}, "config.required_tools"),
        ({"capability": "x" * 201}, "config.capability"),
        ({"capability": "x", "instructions": 5}, "config.instructions"),
    ],
)
def test_a_bad_agent_config_is_refused_naming_the_field(config, field):
    step = {"key": "a", "name": "a", "type": "agent", "config": config}
    with pytest.raises(InvalidStepConfig, match=field):
        normalize_steps(uuid4(), [step], {k.name: k.check for k in KINDS})


def test_a_pinned_agent_needs_no_capability_and_its_task_is_pinned(driver):
    pinned = uuid4()
    run = driver.run([{"key": "a", "name": "a", "type": "agent", "agent_id": pinned, "config": {}}])
    assert the_task(driver, run).agent_id == str(pinned)


def test_a_task_steps_completion_by_its_owner_carries_the_runs_correlation_id(driver):
    step = {"key": "t", "name": "t", "type": "task", "config": {"name": "t"}}
    run = driver.run([{**step, "config": {"name": "t", "wait_for_completion": True}}])
    task_id = the_task(driver, run).id
    owner_request = CommandContext(actor=f"user:{OWNER}", correlation_id="owner-request")
    driver.ledger[TaskCommands].update_task(owner_request, OWNER, task_id, {"status": "completed"})
    driver.settle()
    events = list(driver.ledger.events.get(run.id))
    assert [type(e).__name__ for e in events][-2:] == ["StepSucceeded", "Succeeded"]
    assert {e.meta["correlation_id"] for e in events[-2:]} == {"corr-run"}  # type: ignore[attr-defined]
