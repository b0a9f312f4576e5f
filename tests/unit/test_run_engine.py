"""The run engine and the Run state machine on the in-memory persistence, with fake HTTP."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4, uuid5

import pytest
from argon2 import PasswordHasher

from application.credential import CredentialVault
from application.flow import FlowCommands
from application.ledger import Ledger
from application.run_engine import RunEngine
from application.step_types import HttpAnswer, HttpRequest
from application.task import TaskCommands
from domain.run import Run, RunFinished, RunNotFound, task_id_for
from domain.task import Task
from tests.unit.engine_driver import CTX, OWNER, Driver

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class FakeHttp:
    """Answers with the statuses it is given, in turn, and records the requests."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.requests: list[HttpRequest] = []

    def __call__(self, request: HttpRequest) -> HttpAnswer:
        self.requests.append(request)
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return HttpAnswer(status, '{"ok": true}')


@pytest.fixture
def http():
    return FakeHttp(200)


@pytest.fixture
def driver(http):
    ledger = Ledger(credentials=CredentialVault("secret", hasher=FAST))
    ledger.register(FlowCommands(ledger, http=http))
    yield Driver(ledger, RunEngine(ledger))
    ledger.close()


def task(key, depends_on=None, **config):
    step = {"key": key, "name": key, "type": "task", "config": {"name": key, **config}}
    return step if depends_on is None else {**step, "depends_on": depends_on}


def statuses(run):
    return {s["key"]: run.step_state(s["step_id"])["status"] for s in run.steps}


def test_a_chain_of_task_steps_creates_one_task_each_and_succeeds(driver):
    run = driver.run([task("a"), task("b"), task("c")])
    assert run.status == "succeeded"
    assert statuses(run) == {"a": "succeeded", "b": "succeeded", "c": "succeeded"}
    for step in run.steps:
        task_id = task_id_for(run.id, step["step_id"], 1)
        assert driver.ledger.repository.get(task_id).owner_id == OWNER
    assert driver.seen.count("task.created") == 3
    run_events = [t for t in driver.seen if t.startswith("run.")]
    assert run_events[:3] == ["run.created", "run.started", "run.step_started"]
    assert run_events[-1] == "run.succeeded"


def test_parallel_branches_start_together_and_the_join_waits_for_both(driver):
    steps = [
        task("root"),
        task("left", ["root"], wait_for_completion=True),
        task("right", ["root"], wait_for_completion=True),
        task("join", ["left", "right"]),
    ]
    run = driver.run(steps)
    assert statuses(run) == {
        "root": "succeeded",
        "left": "waiting",
        "right": "waiting",
        "join": "pending",
    }
    assert run.status == "waiting"
    left = task_id_for(run.id, run.steps[1]["step_id"], 1)
    driver.ledger[TaskCommands].update_task(CTX, OWNER, left, {"status": "completed"})
    driver.settle()
    assert statuses(driver.get(run.id))["join"] == "pending"
    right = task_id_for(run.id, run.steps[2]["step_id"], 1)
    driver.ledger[TaskCommands].update_task(CTX, OWNER, right, {"status": "completed"})
    driver.settle()
    run = driver.get(run.id)
    assert run.status == "succeeded"
    assert run.step_state(run.steps[1]["step_id"])["result"]["status"] == "completed"


def test_a_failure_skips_dependants_and_fails_the_run(driver, http):
    http.statuses = [500]
    steps = [
        {"key": "call", "name": "call", "type": "http", "config": {"url": "http://x.test/"}},
        task("after", ["call"]),
    ]
    run = driver.run(steps)
    assert run.status == "failed"
    assert statuses(run) == {"call": "failed", "after": "skipped"}
    assert "unexpected status 500" in (run.error or "")


def test_continue_on_failure_lets_dependants_run(driver, http):
    http.statuses = [503]
    steps = [
        {
            "key": "call",
            "name": "call",
            "type": "http",
            "continue_on_failure": True,
            "config": {"url": "http://x.test/"},
        },
        task("after", ["call"]),
    ]
    run = driver.run(steps)
    assert statuses(run) == {"call": "failed", "after": "succeeded"}
    assert run.status == "succeeded"


def test_a_failed_attempt_is_retried_on_a_timer_with_backoff(driver, http):
    http.statuses = [500, 500, 200]
    step = {
        "key": "call",
        "name": "call",
        "type": "http",
        "max_attempts": 3,
        "retry_backoff_seconds": 2,
        "config": {"url": "http://x.test/"},
    }
    run = driver.run([step])
    assert statuses(run) == {"call": "pending"}
    (timer,) = driver.timers.values()
    started = [e for e in driver.ledger.events.get(run.id) if type(e).__name__ == "StepFailed"]
    assert timer.due_at - started[0].timestamp == timedelta(seconds=2)
    driver.fire_all()
    run = driver.get(run.id)
    assert run.status == "succeeded"
    assert run.step_state(run.steps[0]["step_id"])["attempt"] == 3
    assert len(http.requests) == 3


def test_a_step_past_its_timeout_fails(driver):
    steps = [task("slow", wait_for_completion=True, description="x") | {"timeout_seconds": 30}]
    run = driver.run(steps)
    assert statuses(run) == {"slow": "waiting"}
    driver.fire_all()
    run = driver.get(run.id)
    assert run.status == "failed"
    assert run.step_state(run.steps[0]["step_id"])["error"] == "timed out"
    ended: Task = driver.ledger.repository.get(task_id_for(run.id, run.steps[0]["step_id"], 1))
    assert ended.status == "cancelled"  # an agent holding it would get 409 and stop


def test_a_delay_step_waits_on_a_timer(driver):
    run = driver.run([{"key": "wait", "name": "wait", "type": "delay", "config": {"seconds": 60}}])
    assert run.status == "waiting"
    (timer,) = driver.timers.values()
    assert driver.fire_due(timer.due_at - timedelta(seconds=1)) == []
    driver.fire_due(timer.due_at)
    run = driver.get(run.id)
    assert run.status == "succeeded"
    assert run.step_state(run.steps[0]["step_id"])["result"] == {"waited_seconds": 60.0}


def test_http_config_is_templated_and_its_sealed_headers_opened_only_to_call(driver, http):
    steps = [
        task("make"),
        {
            "key": "call",
            "name": "call",
            "type": "http",
            "config": {
                "url": "http://x.test/{{ inputs.path }}",
                "headers": {"Authorization": "Bearer s3cret"},
                "body": {"task": "{{ steps.make.result.task_id }}", "n": "{{ inputs.n }}"},
            },
        },
    ]
    run = driver.run(steps, {"path": "hook", "n": 7})
    assert run.status == "succeeded"
    (request,) = http.requests
    assert request.url == "http://x.test/hook"
    key = str(uuid5(run.id, f"http:{run.steps[1]['step_id']}:1"))
    assert request.headers == {"Authorization": "Bearer s3cret", "Idempotency-Key": key}
    assert request.body == {"task": str(task_id_for(run.id, run.steps[0]["step_id"], 1)), "n": 7}
    stored = [n.state for n in driver.ledger.recorder.select_notifications(start=1, limit=1000)]
    assert not any(b"s3cret" in state for state in stored)
    assert run.step_state(run.steps[1]["step_id"])["result"]["body"] == {"ok": True}


def test_a_template_naming_nothing_fails_the_step_saying_which(driver):
    run = driver.run([task("a") | {"config": {"name": "{{ inputs.missing }}"}}])
    assert run.status == "failed"
    assert "inputs.missing" in (run.error or "")


def test_cancel_ends_steps_in_flight_and_their_tasks_and_is_idempotent(driver):
    run = driver.run([task("a", wait_for_completion=True), task("b")])
    commands = driver.ledger[FlowCommands]
    commands.cancel_run(CTX, OWNER, run.id, "no longer needed")
    commands.cancel_run(CTX, OWNER, run.id)
    driver.settle()
    run = driver.get(run.id)
    assert run.status == "cancelled"
    assert statuses(run) == {"a": "cancelled", "b": "skipped"}
    ended: Task = driver.ledger.repository.get(task_id_for(run.id, run.steps[0]["step_id"], 1))
    assert ended.status == "cancelled"  # an agent holding it would get 409 and stop
    assert driver.seen.count("run.cancelled") == 1


def test_a_finished_run_cannot_be_cancelled(driver):
    run = driver.run([task("a")])
    with pytest.raises(RunFinished):
        driver.ledger[FlowCommands].cancel_run(CTX, OWNER, run.id)


def test_replaying_a_step_started_event_creates_nothing_twice(driver):
    run = driver.run([task("a", wait_for_completion=True)])
    before = len(driver.seen)
    driver.position = 0  # a crash before the reactor's position was saved: everything again
    driver.settle()
    new = driver.seen[before:]
    assert new.count("task.created") == 1  # the one from the first pass, read again
    events = list(driver.ledger.events.get(run.id))
    assert [type(e).__name__ for e in events].count("StepStarted") == 1
    assert isinstance(driver.get(run.id).steps[0]["step_id"], UUID)


def test_a_run_keeps_the_flow_version_it_started_with(driver):
    commands = driver.ledger[FlowCommands]
    flow = commands.define_flow(CTX, OWNER, {"name": "f", "steps": [task("a")]}).aggregate
    run = commands.start_run(CTX, OWNER, flow.id).aggregate
    commands.update_flow(CTX, OWNER, flow.id, {"steps": [task("z")]})
    commands.delete_flow(CTX, OWNER, flow.id, None)
    driver.settle()
    run = driver.get(run.id)
    assert run.flow_version == 1
    assert [s["key"] for s in run.steps] == ["a"]
    assert run.status == "succeeded"


def test_a_replay_brings_back_the_timer_a_crash_lost_and_finishes_the_step_once(driver):
    run = driver.run(
        [task("made"), {"key": "wait", "name": "w", "type": "delay", "config": {"seconds": 9}}]
    )
    assert run.status == "waiting"
    (timer,) = driver.timers.values()
    driver.timers.clear()  # the crash: the run's events committed, the timer did not
    driver.position = 0
    driver.settle()
    assert list(driver.timers.values()) == [timer]
    driver.fire_all()
    run = driver.get(run.id)
    assert run.status == "succeeded"
    stored = [n.topic for n in driver.ledger.recorder.select_notifications(start=1, limit=1000)]
    assert stored.count("task.created") == 1
    assert stored.count("run.step_succeeded") == 2


def test_a_chain_of_task_steps_is_worked_in_the_one_commit_that_starts_the_run(driver):
    commands = driver.ledger[FlowCommands]
    steps = [task("a"), task("b", ["a"]), task("c", ["b"])]
    flow = commands.define_flow(CTX, OWNER, {"name": "f", "steps": steps}).aggregate
    run = commands.start_run(CTX, OWNER, flow.id).aggregate
    (created,) = driver.ledger.events.get(run.id)
    reaction = driver.engine.react("run.created", created, uuid4())
    reaction.settle()
    run = driver.get(run.id)
    assert run.status == "succeeded"  # run.created's one reaction did it all
    assert len(reaction.pending) == 0
    stored = [n.topic for n in driver.ledger.recorder.select_notifications(start=1, limit=100)]
    assert stored.count("task.created") == 3
    assert "run_task.created" not in stored  # only a step that waits for its task links it


def test_a_reaction_that_loses_a_race_is_redone_on_the_runs_fresh_state(driver):
    steps = [
        task("a", wait_for_completion=True),
        task("b", [], wait_for_completion=True),
        task("c", ["a", "b"]),
    ]
    run = driver.run(steps)
    a, b = (s["step_id"] for s in run.steps[:2])
    driver.ledger[TaskCommands].update_task(
        CTX, OWNER, task_id_for(run.id, a, 1), {"status": "completed"}
    )
    completed = list(driver.ledger.events.get(task_id_for(run.id, a, 1)))[-1]
    engine_load = driver.ledger.load

    def load_then_race(kind, aggregate_id, *args):  # another writer, after the engine read
        found = engine_load(kind, aggregate_id, *args)
        if kind is not Run:
            return found
        driver.ledger.load = engine_load
        other: Run = engine_load(Run, run.id, RunNotFound)
        other.succeed_step(b, 1, {"by": "another writer"})
        driver.ledger.commit(CTX, other)
        return found

    driver.ledger.load = load_then_race
    reaction = driver.engine.react("task.status_changed", completed, uuid4())
    assert driver.ledger.load is engine_load, "the engine read the run"
    reaction.settle()  # the queued commit collides; the reaction is done again on fresh state
    assert statuses(driver.get(run.id)) == {"a": "succeeded", "b": "succeeded", "c": "succeeded"}
    assert driver.get(run.id).status == "succeeded"


def test_a_replay_after_the_engine_restarts_records_nothing_new(driver, http):
    run = driver.run([task("a"), task("b", ["a"], wait_for_completion=True)])
    before = driver.ledger.recorder.max_notification_id()
    driver.reactors = (RunEngine(driver.ledger),)  # a new process: nothing in memory
    driver.position = 0
    driver.settle()
    assert driver.ledger.recorder.max_notification_id() == before
    assert statuses(driver.get(run.id)) == {"a": "succeeded", "b": "waiting"}


def test_the_runs_a_batch_creates_are_started_without_a_read(driver, monkeypatch):
    commands = driver.ledger[FlowCommands]
    flow = commands.define_flow(CTX, OWNER, {"name": "f", "steps": [task("a")]}).aggregate
    runs = [commands.new_run(CTX, OWNER, flow.id, {}, flow=flow) for _ in range(3)]
    created = [(Run.Created.TOPIC, r.pending_events[0]) for r in runs]
    driver.ledger.commit(CTX, *runs)
    monkeypatch.setattr(driver.ledger, "load_many", lambda *a: pytest.fail("runs read"))
    monkeypatch.setattr(driver.ledger, "load", lambda *a, **k: pytest.fail("a run loaded"))
    driver.engine.prepare(created)
    for _, event in created:
        driver.engine.react(Run.Created.TOPIC, event, uuid4()).settle()
    assert all(driver.get(r.id).status != "pending" for r in runs)  # each one started


def created_tasks(driver: Driver) -> int:
    return len(driver.ledger.recorder.select_notifications(1, 1000, topics=["task.created"]))


def test_a_replayed_run_created_of_a_run_started_since_starts_nothing_twice(driver):
    run = driver.run([task("a"), task("b", depends_on=["a"])])
    tasks = created_tasks(driver)
    before = [type(e).__name__ for e in driver.ledger.repository.event_store.get(run.id)]
    created = next(iter(driver.ledger.repository.event_store.get(run.id)))
    engine = RunEngine(driver.ledger)  # a restarted engine: the run is not in its memory
    engine.prepare([(Run.Created.TOPIC, created)])
    engine.react(Run.Created.TOPIC, created, uuid4()).settle()  # collides, redone on a load
    after = [type(e).__name__ for e in driver.ledger.repository.event_store.get(run.id)]
    assert after == before
    assert (
        len(driver.ledger.recorder.select_notifications(1, 1000, topics=["task.created"])) == tasks
    )
