"""A scheduler down for two hours, on real PostgreSQL: when it comes back it records the missed
fire times, runs the latest (its catch-up policy), and the triggers read model shows the history,
the last run and the next fire time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import psycopg

import application.scheduler as scheduler_module
from application.context import CommandContext
from application.flow import FlowCommands
from application.scheduler import Scheduler
from application.trigger import TriggerCommands
from domain.cron import next_fire
from domain.trigger import scheduled_run_id
from interfaces.adapters.reactor_runner import ReactorRunner
from interfaces.bootstrap import conninfo
from projections.trigger import TriggerQueries
from tests.integration.helpers import tracked, wait_for


def test_after_downtime_the_history_shows_the_missed_times_and_the_latest_run(stopped, monkeypatch):
    back = datetime.now(UTC) + timedelta(hours=2)
    monkeypatch.setattr(scheduler_module, "now", lambda: back)
    owner, ctx = uuid4(), CommandContext(actor="system:test")
    flow = stopped.ledger[FlowCommands].define_flow(ctx, owner, {"name": "f", "steps": []})
    sid = (
        stopped.ledger[TriggerCommands]
        .define_trigger(ctx, owner, "time_based", flow.aggregate.id, {"cron": "*/10 * * * *"})
        .aggregate.id
    )
    url = conninfo(stopped.database_url)
    runner = ReactorRunner(url, Scheduler(stopped.ledger), stopped.reader, clock=lambda: back)
    with psycopg.connect(url, autocommit=True) as conn:
        runner.catch_up(conn)  # arms the first fire time, then finds it two hours late
    stopped.start_projections()
    head = stopped.ledger.recorder.max_notification_id()
    wait_for(lambda: tracked(stopped.database_url, "triggers") >= head, timeout=60)
    queries = stopped.query(TriggerQueries)
    history = queries.history(sid).rows
    assert [h["outcome"] for h in history] == ["started", "missed"]
    missed = history[1]["detail"]["fire_times"]
    assert len(missed) in (12, 13)  # every 10 minutes for two hours
    latest = datetime.fromisoformat(missed[-1])
    assert history[0]["run_id"] == scheduled_run_id(sid, latest)
    row = queries.get(owner, sid)
    assert row is not None and row["last_run_id"] == history[0]["run_id"]
    assert row["next_fire_at"] == next_fire("*/10 * * * *", "UTC", back)
    assert row["fire_count"] == 1
