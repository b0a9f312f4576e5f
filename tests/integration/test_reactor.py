"""Reactors on real PostgreSQL: the deactivation reactor, durable timers, one active instance,
a failing reaction retried, and a SIGKILLed worker that neither loses nor repeats an effect."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import psycopg
import pytest

from application.accounts import AccountCommands
from application.context import CommandContext
from application.flow import FlowCommands
from application.principal import Principal
from application.reactor import Reaction, Reactor, Timer, reacts_to
from application.scheduler import Scheduler
from application.sessions import SessionCommands
from application.task import TaskCommands
from domain.cron import next_fire
from domain.session import Session
from domain.task import Task
from domain.trigger import Trigger
from domain.user import User
from interfaces.adapters.reactor_runner import ReactorRunner
from interfaces.bootstrap import conninfo
from projections.schema import stuck_followers
from tests.conftest import TEST_SECRET
from tests.forked import forked_worker
from tests.integration.helpers import tracked, wait_for

CTX = CommandContext(actor="system:test")
REVOKER = "reactor.deactivation-ends-sessions"


def revocations(database_url: str) -> dict[Any, int]:
    """How many ``session.revoked`` events each session has."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT originator_id, count(*) FROM ledgerflow_events"
            " WHERE topic = 'session.revoked' GROUP BY originator_id"
        ).fetchall()
    return dict(rows)


def test_deactivating_a_user_ends_their_live_sessions(container):
    ledger = container.ledger
    admin = ledger[AccountCommands].register_user(CTX, "boss", "boss-password-1", "B", "O")
    user = ledger[AccountCommands].register_user(CTX, "leaver", "leaver-password-1", "L", "E")
    sessions = [ledger[SessionCommands].start_session(CTX, user.aggregate)[0] for _ in range(2)]
    actor = Principal(admin.aggregate.id, "admin")
    ledger[AccountCommands].administer_user(CTX, actor, user.aggregate.id, active=False)
    wait_for(lambda: len(revocations(container.database_url)) == 2)
    for session in sessions:
        current: Session = ledger.repository.get(session.id)
        assert current.revoked
        revoked = list(ledger.events.get(session.id))[-1]
        assert revoked.meta["actor"] == "system:deactivation-ends-sessions"
    # Reactivation does not bring the sessions back.
    ledger[AccountCommands].administer_user(CTX, actor, user.aggregate.id, active=True)
    assert all(ledger.repository.get(s.id).revoked for s in sessions)


class Reminder(Reactor):
    """A test reactor: a task with a due date gets a timer at that date."""

    name = "test-reminder"
    fired: list[str] = []

    @reacts_to(Task.Created)
    def when_task_created_schedule_reminder(self, event: Any, reaction: Reaction) -> None:
        if event.due_date is not None:
            reaction.schedule(f"remind:{event.originator_id}", event.due_date, name=event.name)

    def on_timer(self, timer: Timer, reaction: Reaction) -> None:
        type(self).fired.append(str(timer.payload["name"]))


def test_a_timer_fires_once_when_due_even_with_two_instances(stopped):
    Reminder.fired = []
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    clock = {"now": now}
    due = now + timedelta(hours=1)
    tasks = stopped.ledger[TaskCommands]
    tasks.create_task(CTX, uuid4(), "later", due_date=due)
    tasks.create_task(CTX, uuid4(), "no date")
    runners = [
        ReactorRunner(
            conninfo(stopped.database_url),
            Reminder(stopped.ledger),
            stopped.reader,
            poll_interval=0.05,
            clock=lambda: clock["now"],
        )
        for _ in range(2)
    ]
    stopped.reader.start()
    for runner in runners:
        runner.start()
    try:
        wait_for(lambda: tracked(stopped.database_url, "reactor.test-reminder") >= 2)
        assert sum(r.status().active for r in runners) == 1
        assert Reminder.fired == []
        clock["now"] = due
        wait_for(lambda: Reminder.fired == ["later"])
        clock["now"] = due + timedelta(days=1)
        runners[0].stop()
        runners[1].stop()
        for runner in runners:
            with psycopg.connect(conninfo(stopped.database_url), autocommit=True) as conn:
                runner.catch_up(conn)
    finally:
        for runner in runners:
            runner.stop()
        stopped.reader.stop()
    assert Reminder.fired == ["later"]


class Flaky(Reactor):
    """A test reactor that fails until told not to, and counts what it did."""

    name = "test-flaky"
    failing = True
    seen: list[str] = []

    @reacts_to(Task.Created)
    def when_task_created_note_it(self, event: Any, reaction: Reaction) -> None:
        if type(self).failing and event.name == "poison":
            raise RuntimeError("the reaction broke")
        type(self).seen.append(event.name)


def test_a_failing_reaction_keeps_its_position_and_is_retried(stopped):
    Flaky.seen, Flaky.failing = [], True
    tasks = stopped.ledger[TaskCommands]
    for name in ("first", "poison", "third"):
        tasks.create_task(CTX, uuid4(), name)
    runner = ReactorRunner(conninfo(stopped.database_url), Flaky(stopped.ledger), stopped.reader)
    with psycopg.connect(conninfo(stopped.database_url), autocommit=True) as conn:
        runner.setup(conn)
        assert runner.process_batch(conn) == 0
        assert "the reaction broke" in (runner.status().last_error or "")
        # The events before the one it cannot apply are done; it stays before that one.
        assert tracked(stopped.database_url, "reactor.test-flaky") == 1
        assert stuck_followers(conn)["reactor.test-flaky"].position == 2
        Flaky.failing = False
        runner._retry_at = 0.0  # skip the back-off
        runner.catch_up(conn)
        assert "reactor.test-flaky" not in stuck_followers(conn)
    assert tracked(stopped.database_url, "reactor.test-flaky") == 3
    assert Flaky.seen == ["first", "poison", "third"]


def deactivated_users_with_sessions(ledger: Any, users: int, per_user: int) -> list[Session]:
    """Users (no password hashing: a placeholder credential), their sessions, then each user
    deactivated: a backlog for the deactivation reactor."""
    people = [User.register(f"user{i}", "U", str(i), "sealed-placeholder") for i in range(users)]
    sessions = [
        Session.start(p.id, "hash", datetime.now(UTC) + timedelta(days=1))
        for p in people
        for _ in range(per_user)
    ]
    ledger.save(*people, *sessions)
    for person in people:
        person.deactivate()
    ledger.save(*people)
    return sessions


def test_a_worker_killed_mid_reaction_neither_loses_nor_repeats_an_effect(stopped):
    url = stopped.database_url
    sessions = deactivated_users_with_sessions(stopped.ledger, 400, 3)
    env = {
        **os.environ,
        "LEDGERFLOW_DATABASE_URL": url,
        "LEDGERFLOW_SECRET_KEY": TEST_SECRET,
        "LEDGERFLOW_LOG_LEVEL": "warning",
    }
    worker = forked_worker(env)
    try:
        wait_for(lambda: len(revocations(url)) >= 30, timeout=120)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        worker.kill()
    done_when_killed = len(revocations(url))
    assert 0 < done_when_killed < len(sessions), "the kill must land during the reactions"
    stopped.start_projections()
    wait_for(lambda: len(revocations(url)) == len(sessions), timeout=180)
    head = stopped.ledger.recorder.max_notification_id()
    wait_for(lambda: tracked(url, REVOKER) == head, timeout=60)
    counts = revocations(url)
    assert set(counts) == {s.id for s in sessions}
    assert set(counts.values()) == {1}, "no session was revoked twice"


class TimerOnly(Reactor):
    """A test reactor that reacts to user registrations only."""

    name = "test-timer-only"
    seen: list[str] = []

    @reacts_to(User.Created)
    def when_user_registered_note_it(self, event: Any, reaction: Reaction) -> None:
        type(self).seen.append(event.username)


class CountingConnection(psycopg.Connection):
    """Counts the statements a runner sends (to show a pass needs none)."""

    statements = 0

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        type(self).statements += 1
        return super().execute(*args, **kwargs)

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        type(self).statements += 1  # each transaction of the runner opens one
        return super().cursor(*args, **kwargs)


def test_events_a_reactor_ignores_are_passed_over_without_a_statement(stopped):
    """A batch without an event the reactor reacts to and no timer due costs no statement;
    the position passed over reaches the tracking row when the log goes quiet, and an event
    it reacts to after them is reacted to once."""
    TimerOnly.seen = []
    tasks = stopped.ledger[TaskCommands]
    for i in range(20):
        tasks.create_task(CTX, uuid4(), f"ignored {i}")
    runner = ReactorRunner(
        conninfo(stopped.database_url), TimerOnly(stopped.ledger), stopped.reader
    )
    with CountingConnection.connect(conninfo(stopped.database_url), autocommit=True) as conn:
        runner.setup(conn)
        runner._resume(conn)
        assert runner.process_batch(conn) > 0  # reads the log and the timers table once
        assert tracked(stopped.database_url, "reactor.test-timer-only") == runner.position
        tasks.create_task(CTX, uuid4(), "one more")
        stopped.reader.read_after(conn, runner.position, 200)  # as the reader's thread would
        before = CountingConnection.statements
        assert runner.process_batch(conn) == 1
        assert CountingConnection.statements == before  # from the reader's window: none at all
        assert tracked(stopped.database_url, "reactor.test-timer-only") < runner.position
        assert runner.process_batch(conn) == 0  # quiet: the position is written now
        assert tracked(stopped.database_url, "reactor.test-timer-only") == runner.position
        stopped.ledger[AccountCommands].register_user(CTX, "noted", "noted-password-1", "N", "O")
        runner.process_batch(conn)
        runner.process_batch(conn)
    assert TimerOnly.seen == ["noted"]
    assert tracked(stopped.database_url, "reactor.test-timer-only") == runner.position


class RecordingCursor(psycopg.Cursor[Any]):
    """Keeps the text of every statement sent through it."""

    sent: list[str] = []

    def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        type(self).sent.append(str(query))
        return super().execute(query, *args, **kwargs)


YEARLY = "0 0 1 1 *"


def yearly_schedules(stopped: Any, count: int) -> tuple[ReactorRunner, list[datetime], str]:
    """``count`` schedules of one flow firing once a year, and a scheduler's runner on a clock
    the test moves (the clock, and the connection string)."""
    owner = uuid4()
    flow = stopped.ledger[FlowCommands].define_flow(CTX, owner, {"name": "f", "steps": []})
    schedules = [
        Trigger.define(owner, "time_based", flow.aggregate.id, {"cron": YEARLY})
        for _ in range(count)
    ]
    stopped.ledger.commit(CTX, *schedules)
    clock = [datetime.now(UTC)]
    url = conninfo(stopped.database_url)
    runner = ReactorRunner(url, Scheduler(stopped.ledger), stopped.reader, clock=lambda: clock[0])
    return runner, clock, url


def test_idle_schedules_cost_no_statement_between_fire_times_and_wake_the_runner_when_due(
    stopped,
):
    """Many enabled schedules whose next fire is far: passes over a long idle interval never
    read the timers table (no polling per schedule); the runner sleeps until the earliest
    timer (never later than it), and all of them fire when it is due."""
    runner, clock, url = yearly_schedules(stopped, 100)
    start = clock[0]
    with psycopg.connect(url, autocommit=True, cursor_factory=RecordingCursor) as conn:
        runner.catch_up(conn)  # arms one timer per schedule
        due = next_fire(YEARLY, "UTC", start)
        RecordingCursor.sent = []
        for hour in range(1, 200):  # passes over 200 idle hours (or up to the fire time)
            clock[0] = min(start + timedelta(hours=hour), due - timedelta(seconds=1))
            assert runner.process_batch(conn) == 0
        assert not [q for q in RecordingCursor.sent if "ledgerflow_timers" in q]
        clock[0] = due - timedelta(seconds=0.25)
        assert 0 < runner.idle_for() <= 0.25  # it wakes at the timer, not at the next poll
        clock[0] = due
        assert runner.process_batch(conn) > 0  # the timers fired (and their events reacted to)
    fired = stopped.ledger.recorder.select_notifications(
        start=1, limit=1000, topics=["trigger.fired"]
    )
    assert len(fired) == 100


def test_a_batch_of_due_schedules_is_read_in_one_query_and_its_timers_kept_in_one_statement(
    stopped, monkeypatch
):
    """The fires of one second: the schedules and their flow read together, the fired timers
    marked and the next ones armed each in one statement, whatever the batch holds."""
    count = 30
    runner, clock, url = yearly_schedules(stopped, count)
    recorder = stopped.ledger.recorder
    batches: list[int] = []
    select_many = recorder.select_events_of

    def counted(ids: Any) -> Any:
        batches.append(len(ids))
        return select_many(ids)

    with psycopg.connect(url, autocommit=True, cursor_factory=RecordingCursor) as conn:
        runner.catch_up(conn)  # arms one timer per schedule
        monkeypatch.setattr(recorder, "select_events_of", counted)
        monkeypatch.setattr(recorder, "select_events", lambda *a, **k: pytest.fail("a load"))
        RecordingCursor.sent = []
        clock[0] = next_fire(YEARLY, "UTC", clock[0])
        assert runner._fire_due(conn) == count
    assert batches == [count, 1]  # the schedules, then their one flow
    timers = [q for q in RecordingCursor.sent if "ledgerflow_timers" in q]
    assert len(timers) == 4  # claim the due ones, mark them fired, arm the next, the earliest
    with psycopg.connect(url) as conn:
        armed = conn.execute(
            "SELECT count(*) FROM ledgerflow_timers WHERE reactor = 'scheduler'"
            " AND fired_at IS NULL AND due_at > %s",
            (clock[0],),
        ).fetchone()
    assert armed == (count,)
    fired = recorder.select_notifications(start=1, limit=1000, topics=["trigger.fired"])
    assert len(fired) == count
