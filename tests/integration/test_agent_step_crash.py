"""Agent steps on real PostgreSQL with a worker SIGKILLed while agents report: when the reactors
come back, every run finishes, each step's task was created once and each outcome recorded once."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import psycopg

from application.context import CommandContext
from application.dispatch import DispatchCommands, Reporter
from application.flow import FlowCommands
from domain.run import task_id_for
from domain.task import Task, TaskNotFound
from tests.integration.helpers import tracked, wait_for, worker_killed_when

RUNS = 30
STEPS = [
    {"key": "fix", "name": "fix", "type": "agent", "config": {"capability": "fix-bug"}},
    {"key": "after", "name": "after", "type": "task", "config": {"name": "after"}},
]


def counts(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT topic, count(*) FROM ledgerflow_events WHERE topic LIKE 'run%'"
            " OR topic IN ('task.created', 'task.completed') GROUP BY topic"
        ).fetchall()
    return dict(rows)


def work(container, owner: UUID, task_id: UUID) -> None:
    """An agent leases the task as soon as the engine has created it, then completes it."""
    ledger, agent = container.ledger, uuid4()

    def exists() -> bool:
        try:
            ledger.load(Task, task_id, TaskNotFound)
        except TaskNotFound:
            return False
        return True

    wait_for(exists, timeout=120)
    ctx = CommandContext(actor=f"agent:{agent}")
    load = lambda: ledger.load(Task, task_id, TaskNotFound)  # noqa: E731
    ledger.change(ctx, load, task_id, None, lambda t: t.lease(agent, datetime.now(UTC), 300))
    reporter = Reporter(owner, agent)
    ledger[DispatchCommands].complete_task(ctx, reporter, task_id, {"summary": "done"})


def test_a_worker_killed_while_agents_report_finishes_every_run_once(stopped):
    url = stopped.database_url
    owner, ctx = uuid4(), CommandContext(actor="system:test")
    commands = stopped.ledger[FlowCommands]
    flow = commands.define_flow(ctx, owner, {"name": "agents", "steps": STEPS}).aggregate
    fix = flow.steps[0]["step_id"]
    runs = [commands.start_run(ctx, owner, flow.id).aggregate.id for _ in range(RUNS)]

    def first_half() -> None:
        for run_id in runs[: RUNS // 2]:
            work(stopped, owner, task_id_for(run_id, fix, 1))

    worker_killed_when(url, first_half, lambda: counts(url).get("run.succeeded", 0) >= 3)
    assert counts(url).get("run.succeeded", 0) < RUNS, "the kill must land while runs are in flight"
    stopped.start_projections()
    for run_id in runs[RUNS // 2 :]:
        work(stopped, owner, task_id_for(run_id, fix, 1))
    wait_for(lambda: counts(url).get("run.succeeded", 0) == RUNS, timeout=180)
    head = stopped.ledger.recorder.max_notification_id()
    wait_for(lambda: tracked(url, "reactor.run-step-tasks") == head, timeout=60)
    wait_for(lambda: tracked(url, "reactor.run-engine") == head, timeout=60)
    final = counts(url)
    assert final["task.created"] == RUNS * 2, "one task per step, none twice"
    assert final["task.completed"] == RUNS
    assert final["run.step_started"] == RUNS * 2, "each step started once"
    assert final["run.step_succeeded"] == RUNS * 2, "each outcome recorded once"
    assert final.get("run.failed", 0) == 0
