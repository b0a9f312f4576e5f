"""Two schedulers racing on real PostgreSQL: every (schedule, fire time) starts exactly one run,
whose id is uuid5(schedule_id, fire_time)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import psycopg

import application.scheduler as scheduler_module
from application.context import CommandContext
from application.flow import FlowCommands
from application.scheduler import Scheduler
from application.trigger import TriggerCommands
from domain.trigger import scheduled_run_id
from interfaces.adapters.reactor_runner import ReactorRunner
from interfaces.bootstrap import conninfo

SCHEDULES = 30


def test_two_schedulers_racing_start_one_run_per_fire_time(stopped, monkeypatch):
    later = datetime.now(UTC) + timedelta(minutes=3)  # two or three fire times have come
    monkeypatch.setattr(scheduler_module, "now", lambda: later)
    monkeypatch.setattr(scheduler_module, "GRACE", timedelta(minutes=10))
    owner, ctx = uuid4(), CommandContext(actor="system:test")
    steps = [{"key": "t", "name": "t", "type": "task", "config": {"name": "t"}}]
    flow = stopped.ledger[FlowCommands].define_flow(ctx, owner, {"name": "f", "steps": steps})
    for _ in range(SCHEDULES):
        stopped.ledger[TriggerCommands].define_trigger(
            ctx,
            owner,
            "time_based",
            flow.aggregate.id,
            {"cron": "* * * * *", "overlap_policy": "allow"},
            enabled=True,
            inputs={},
            name="",
        )
    url = conninfo(stopped.database_url)
    runners = [
        ReactorRunner(url, Scheduler(stopped.ledger), stopped.reader, clock=lambda: later)
        for _ in range(2)
    ]

    def race(runner: ReactorRunner) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            for _ in range(6):  # react to the schedules, then fire what is due, again and again
                runner.catch_up(conn)

    threads = [threading.Thread(target=race, args=(r,)) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    ledger = stopped.ledger
    runs = ledger.recorder.select_notifications(start=1, limit=100_000, topics=["run.created"])
    found = ledger.recorder.select_notifications(start=1, limit=100_000, topics=["trigger.fired"])
    fired = [ledger.mapper.to_domain_event(n) for n in found]
    started = [n.originator_id for n in runs]
    assert len(started) == len(set(started)) == len(fired)
    assert len(started) >= SCHEDULES * 2  # each schedule fired at least twice in 3 minutes
    pairs = {(e.trigger_id, e.fire_time) for e in fired}
    assert len(pairs) == len(fired)  # no (schedule, fire time) fired twice
    for e in fired:
        assert e.run_id == scheduled_run_id(e.trigger_id, datetime.fromisoformat(e.fire_time))
    assert set(started) == {e.run_id for e in fired}
