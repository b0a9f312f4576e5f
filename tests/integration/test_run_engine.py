"""The run engine on real PostgreSQL: a worker SIGKILLed in the middle of many runs; when the
engine comes back every run resumes where it stopped and no step runs twice."""

from __future__ import annotations

from uuid import uuid4

import psycopg

from application.context import CommandContext
from application.flow import FlowCommands
from tests.integration.helpers import tracked, wait_for, worker_killed_when

RUNS = 300  # enough that the kill, at the 20th task, lands while most runs are in flight
STEPS = ("one", "two", "three")


def counts(database_url: str) -> dict[str, int]:
    """How many events of each run and task type the log holds."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT topic, count(*) FROM ledgerflow_events WHERE topic LIKE 'run%'"
            " OR topic = 'task.created' GROUP BY topic"
        ).fetchall()
    return dict(rows)


def test_a_worker_killed_mid_run_resumes_every_run_and_runs_no_step_twice(stopped):
    url = stopped.database_url
    owner, ctx = uuid4(), CommandContext(actor="system:test")
    commands = stopped.ledger[FlowCommands]
    steps = [{"key": k, "name": k, "type": "task", "config": {"name": k}} for k in STEPS]
    flow = commands.define_flow(ctx, owner, {"name": "three", "steps": steps}).aggregate
    for _ in range(RUNS):
        commands.start_run(ctx, owner, flow.id)
    worker_killed_when(url, lambda: None, lambda: counts(url).get("task.created", 0) >= 20)
    done_when_killed = counts(url).get("run.succeeded", 0)
    assert done_when_killed < RUNS, "the kill must land while runs are in flight"
    stopped.start_projections()
    wait_for(lambda: counts(url).get("run.succeeded", 0) == RUNS, timeout=180)
    head = stopped.ledger.recorder.max_notification_id()
    wait_for(lambda: tracked(url, "reactor.run-engine") == head, timeout=60)
    final = counts(url)
    assert final["task.created"] == RUNS * len(STEPS), "one task per step, none twice"
    assert final["run.step_started"] == RUNS * len(STEPS), "each step started once"
    assert final["run.step_succeeded"] == RUNS * len(STEPS)
    assert final.get("run.failed", 0) == 0
