"""Projections on real PostgreSQL: exactly once across a killed runner, rebuild, standby."""

import os
import signal
from uuid import uuid4

import psycopg
import pytest

from application.context import CommandContext
from application.task import TaskCommands
from domain.task import Task
from interfaces.bootstrap import build, conninfo
from projections.runner import ProjectionRunner
from projections.task import TaskProjection, TaskQueries
from tests.conftest import TEST_SECRET, make_settings
from tests.forked import forked_worker
from tests.integration.helpers import table_digest, tracked, wait_for

CTX = CommandContext(actor="system:test")


def expected_digest(database_url, tasks):
    """The digest the read model must have: computed by projecting into a scratch table."""
    return table_digest(database_url, "tasks")


def make_backlog(ledger, count):
    """``count`` tasks, a third of them updated and a tenth deleted, saved in large batches."""
    owner = uuid4()
    tasks = [Task.create(owner, f"task {i}", priority="low") for i in range(count)]
    for i, task in enumerate(tasks):
        if i % 3 == 0:
            task.update({"status": "in_progress", "priority": "high", "tags": [f"t{i}"]})
        if i % 10 == 0:
            task.delete()
    for start in range(0, count, 2000):
        ledger.save(*tasks[start : start + 2000])
    return tasks


def expected_rows(tasks):
    return {t.id: (t.name, t.status, t.priority, t.version) for t in tasks if not t.deleted}


def read_rows(database_url, table="tasks"):
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(f"SELECT task_id, name, status, priority, version FROM {table}")
        return {r[0]: tuple(r[1:]) for r in rows}


@pytest.fixture
def stopped(database_url):
    """A container whose projections are NOT running (the test drives them)."""
    built = build(make_settings(database_url))
    yield built
    built.close()


def test_the_read_model_matches_the_aggregates(container):
    owner = uuid4()
    ids = [
        container.ledger[TaskCommands].create_task(CTX, owner, f"t{i}").aggregate.id
        for i in range(5)
    ]
    container.ledger[TaskCommands].update_task(CTX, owner, ids[0], {"status": "completed"})
    container.ledger[TaskCommands].delete_task(CTX, owner, ids[1])
    last = container.ledger.recorder.max_notification_id()
    container.watch.wait_for("tasks", last, timeout=10)
    page = container.query(TaskQueries).list(owner)
    assert page.total == 4
    assert {r["task_id"] for r in page.tasks} == set(ids) - {ids[1]}
    assert container.query(TaskQueries).get(owner, ids[0])["status"] == "completed"
    assert container.query(TaskQueries).get(uuid4(), ids[0]) is None


def test_a_runner_killed_mid_batch_applies_every_event_exactly_once(stopped, database_url):
    tasks = make_backlog(stopped.ledger, 12_000)
    head = stopped.ledger.recorder.max_notification_id()
    env = {
        **os.environ,
        "LEDGERFLOW_DATABASE_URL": database_url,
        "LEDGERFLOW_SECRET_KEY": TEST_SECRET,
        "LEDGERFLOW_LOG_LEVEL": "warning",
    }
    worker = forked_worker(env)
    try:
        wait_for(lambda: tracked(database_url, "tasks") > 0)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        worker.kill()
    killed_at = tracked(database_url, "tasks")
    assert 0 < killed_at < head, "the kill must land while the backlog is being applied"
    stopped.start_projections()
    # A bound, not a timing check: 21,200 events took 25-40 s on a loaded 2-core machine.
    wait_for(lambda: tracked(database_url, "tasks") == head, timeout=180)
    assert read_rows(database_url) == expected_rows(tasks)


def test_a_batch_that_fails_leaves_no_trace_and_is_applied_once_event_by_event(
    stopped, database_url
):
    tasks = make_backlog(stopped.ledger, 300)
    projection = TaskProjection()
    original = projection.change_of  # what the batch path asks of each event
    calls = {"n": 0}

    def flaky(event, position):
        calls["n"] += 1
        if calls["n"] == 150:
            raise RuntimeError("crash in the middle of a batch")
        return original(event, position)

    projection.change_of = flaky
    runner = ProjectionRunner(
        conninfo(database_url),
        projection,
        stopped.ledger.recorder,
        stopped.ledger.mapper,
        "ledgerflow_events",
        batch_size=1000,
    )
    with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
        runner.setup(conn)
        # The failed batch rolled back whole; the same events were then applied one by one.
        assert runner.process_batch(conn) == stopped.ledger.recorder.max_notification_id()
        assert calls["n"] > 150
    assert read_rows(database_url) == expected_rows(tasks)


def test_rebuilding_from_the_log_gives_the_same_rows(container, database_url):
    owner = uuid4()
    for i in range(30):
        written = container.ledger[TaskCommands].create_task(CTX, owner, f"t{i}", tags=[f"x{i}"])
        if i % 2:
            container.ledger[TaskCommands].update_task(
                CTX, owner, written.aggregate.id, {"status": "blocked"}
            )
        if i % 7 == 0:
            container.ledger[TaskCommands].delete_task(CTX, owner, written.aggregate.id)
    container.watch.wait_for("tasks", container.ledger.recorder.max_notification_id(), 10)
    rebuild = ProjectionRunner(
        conninfo(database_url),
        TaskProjection("tasks_rebuild"),
        container.ledger.recorder,
        container.ledger.mapper,
        "ledgerflow_events",
    )
    with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
        rebuild.catch_up(conn)
    live, rebuilt = table_digest(database_url, "tasks"), table_digest(database_url, "tasks_rebuild")
    assert live[0] == 25 and live == rebuilt


def test_only_one_runner_per_projection_is_active(stopped, database_url):
    stopped.ledger[TaskCommands].create_task(CTX, uuid4(), "t")
    info = conninfo(database_url)
    first = ProjectionRunner(
        info,
        TaskProjection(),
        stopped.ledger.recorder,
        stopped.ledger.mapper,
        "ledgerflow_events",
        poll_interval=0.1,
    )
    second = ProjectionRunner(
        info,
        TaskProjection(),
        stopped.ledger.recorder,
        stopped.ledger.mapper,
        "ledgerflow_events",
        poll_interval=0.1,
    )
    first.start()
    wait_for(lambda: first.status().active)
    second.start()
    try:
        wait_for(lambda: second.status().last_error is None and first.status().position >= 1)
        assert first.status().active and not second.status().active
        first.stop()
        wait_for(lambda: second.status().active)  # the standby takes over
    finally:
        first.stop()
        second.stop()


def test_a_runner_reports_its_lag_and_head(stopped, database_url):
    for i in range(3):
        stopped.ledger[TaskCommands].create_task(CTX, uuid4(), f"t{i}")
    runner = ProjectionRunner(
        conninfo(database_url),
        TaskProjection(),
        stopped.ledger.recorder,
        stopped.ledger.mapper,
        "ledgerflow_events",
        batch_size=2,
    )
    with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
        runner.setup(conn)
        runner.process_batch(conn)
        assert (runner.status().position, runner.status().head, runner.status().lag) == (2, 3, 1)
        runner.catch_up(conn)
    assert runner.status().lag == 0
