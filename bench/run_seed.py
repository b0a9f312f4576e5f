"""Seed a database with many finished runs, fast and still real, for ``bench/runs.py``.

Each run is made by the application layer (``FlowCommands.new_run`` for the benchmark's flow)
and driven to its end by the ``Run`` aggregate's own commands, in memory: ``start``, then each
step started is succeeded with the result a ``task`` step records (``{"task_id", "status":
"not_started"}``, the task id the engine would use); one run in 20 fails its first step (its
dependants are skipped), one in 20 is cancelled while pending, and one in four is a
``schedule`` run instead of ``manual``. The runs' events are committed ``CHUNK`` runs per
``Ledger.commit``: they are the same events the engine records (``run.created``,
``run.started``, ``run.step_started``/``step_succeeded`` per step, ``run.succeeded``), and the
server's followers (the runs projection, the relay, the engine, which finds each run finished
and does nothing) follow them like any other. What is left out is the three tasks a real run's
steps create: they are not in the runs read model, and making them would triple the tasks
table and the followers' work without changing what the runs list and GET read.
"""

from __future__ import annotations

import time
from uuid import UUID

import psycopg

from application.context import CommandContext
from application.flow import FlowCommands
from bench.run import SECRET
from domain.flow import Flow
from domain.run import Run, task_id_for
from interfaces.bootstrap import build, conninfo
from interfaces.settings import Settings

CHUNK = 1000  # runs per commit (about 9,000 events)


def finished_run(commands: FlowCommands, user: CommandContext, flow: Flow, n: int) -> Run:
    """Run number ``n`` of the seed, driven to its end: succeeded, failed or cancelled."""
    trigger = "schedule" if n % 4 == 3 else "manual"
    run = commands.new_run(user, flow.owner_id, flow.id, trigger=trigger, flow=flow)
    if n % 20 == 19:
        run.cancel("seeded")
        return run
    run.start()
    done: set[UUID] = set()
    while todo := [
        e.step_id
        for e in run.pending_events
        if isinstance(e, Run.StepStarted) and e.step_id not in done
    ]:
        for step_id in todo:
            done.add(step_id)
            if n % 20 == 18:
                run.fail_step(step_id, 1, "seeded failure")
                return run
            result = {"task_id": str(task_id_for(run.id, step_id, 1)), "status": "not_started"}
            run.succeed_step(step_id, 1, result)
    return run


def seed_runs(db: str, owner_id: UUID, flow_id: UUID, count: int) -> None:
    """Record ``count`` finished runs of the flow, ``CHUNK`` per commit."""
    container = build(Settings(database_url=db, secret_key=SECRET, run_projections=False))
    try:
        commands = container.ledger[FlowCommands]
        flow = commands.get_flow(owner_id, flow_id)
        user = CommandContext(actor=f"user:{owner_id}")
        for start in range(0, count, CHUNK):
            size = min(CHUNK, count - start)
            runs = [finished_run(commands, user, flow, start + i) for i in range(size)]
            container.ledger.commit(user, *runs)
    finally:
        container.close()


def wait_caught_up(db: str, timeout: float = 1800) -> float:
    """Wait until every follower of the log (projections, relay, reactors) reached its head;
    how long it took (s)."""
    started = time.monotonic()
    with psycopg.connect(conninfo(db), autocommit=True) as conn:
        while time.monotonic() - started < timeout:
            row = conn.execute(
                "SELECT (SELECT max(notification_id) FROM ledgerflow_events),"
                " (SELECT min(position) FROM ledgerflow_tracking)"
            ).fetchone()
            assert row is not None
            if row[1] is not None and row[1] >= row[0]:
                return time.monotonic() - started
            time.sleep(0.5)
    raise RuntimeError("the followers did not catch up in time")
