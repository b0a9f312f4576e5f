"""Leases on real PostgreSQL: pollers of two API processes racing for one queue (zero double
leases), lease expiry by the reactor's durable timer under a frozen clock, a heartbeat that keeps
a lease, and an agent process killed mid-lease whose task goes to the next agent."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.persistence import DatetimeAsISO
from freezegun import freeze_time
from freezegun.api import FakeDatetime

from application.agent import AgentCommands
from application.context import CommandContext
from application.dispatch import DispatchCommands
from domain.task import Task
from interfaces.bootstrap import build, conninfo
from projections.runner import ProjectionRunner
from tests.conftest import TEST_SECRET, make_settings
from tests.integration.helpers import wait_for

CTX = CommandContext(actor="system:test")
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def queue(ledger: Any, owner: UUID, count: int, intent: str = "fix-bug") -> list[UUID]:
    """``count`` tasks waiting for agents with ``intent``."""
    tasks = []
    for i in range(count):
        task = Task.create(owner, f"task {i}")
        task.assign({"intent": intent})
        tasks.append(task)
    for start in range(0, count, 100):
        ledger.save(*tasks[start : start + 100])
    return [t.id for t in tasks]


def leases_per_task(database_url: str) -> dict[Any, int]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT originator_id, count(*) FROM ledgerflow_events"
            " WHERE topic = 'task.leased' GROUP BY originator_id"
        ).fetchall()
    return dict(rows)


def assert_leased_once(got: dict[UUID, list[UUID]], ids: list[UUID], database_url: str) -> None:
    """Every task of ``ids`` went to exactly one poller (``got``: agent -> tasks leased), and
    the log holds exactly one ``task.leased`` for each."""
    taken = [task for leased in got.values() for task in leased]
    assert sorted(taken) == sorted(ids), "every task leased once, by exactly one poller"
    counts = leases_per_task(database_url)
    assert len(counts) == len(ids) and set(counts.values()) == {1}


@pytest.fixture
def two_processes(database_url):
    """Two containers on one database: two API processes' write sides (no followers run)."""
    built = [build(make_settings(database_url)) for _ in range(2)]
    yield built
    for container in built:
        container.close()


def test_pollers_of_two_api_processes_never_get_the_same_lease(two_processes, database_url):
    first, second = two_processes
    owner = uuid4()
    agents = [
        first.ledger[AgentCommands]
        .register_agent(CTX, owner, f"agent-{i}", {"name": f"a{i}", "capabilities": ["fix-bug"]})[0]
        .aggregate
        for i in range(6)
    ]
    ids = queue(first.ledger, owner, 300)
    got: dict[UUID, list[UUID]] = {agent.id: [] for agent in agents}

    def poll(index: int) -> None:
        ledger = (first, second)[index % 2].ledger
        agent = ledger.repository.get(agents[index].id)
        mine = list(ids)
        random.Random(index).shuffle(mine)
        while True:
            leased, _ = ledger[DispatchCommands].lease_commands(CTX, agent, mine, 10)
            if not leased:
                return
            got[agent.id].extend(t.id for t in leased)

    threads = [threading.Thread(target=poll, args=(i,)) for i in range(len(agents))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert_leased_once(got, ids, database_url)
    assert sum(1 for leased in got.values() if leased) >= 2


class FrozenDatetimeAsISO(DatetimeAsISO):
    """freezegun's datetimes are stored like real ones."""

    type = FakeDatetime


@pytest.fixture
def stopped(database_url):
    """A container whose followers do not run: the test drives them in its own thread."""
    built = build(make_settings(database_url, agent_lease_seconds=300, agent_offline_after=60))
    built.ledger.mapper.transcoder.register(FrozenDatetimeAsISO())  # type: ignore[attr-defined]
    built.ensure_read_models()
    yield built
    built.close()


def drive(container: Any) -> None:
    """Catch the read models and the agent-leases reactor up, in this thread."""
    with psycopg.connect(conninfo(container.database_url), autocommit=True) as conn:
        for runner in container.runners:
            if type(runner) is ProjectionRunner:
                runner.catch_up(conn)
        for reactor in container.reactors:
            reactor.catch_up(conn)
        for runner in container.runners:  # what the reactions recorded
            if type(runner) is ProjectionRunner:
                runner.catch_up(conn)


def leased_task(container: Any) -> tuple[Any, UUID]:
    owner = uuid4()
    agents = container.ledger[AgentCommands]
    agent = agents.register_agent(CTX, owner, "a", {"name": "a", "capabilities": ["x"]})[0]
    [task_id] = queue(container.ledger, owner, 1, "x")
    container.ledger[DispatchCommands].lease_commands(CTX, agent.aggregate, [task_id], 1)
    return agent.aggregate, task_id


def test_a_silent_agents_lease_expires_on_the_reactors_timer_and_the_task_is_requeued(stopped):
    with freeze_time(T0) as clock:
        agent, task_id = leased_task(stopped)
        drive(stopped)
        assert stopped.ledger.repository.get(task_id).status == "in_progress"
        clock.tick(timedelta(seconds=299))
        drive(stopped)
        assert stopped.ledger.repository.get(task_id).lease_agent_id == str(agent.id)
        clock.tick(timedelta(seconds=2))
        drive(stopped)
        task = stopped.ledger.repository.get(task_id)
        assert (task.status, task.lease_agent_id, task.attempts) == ("not_started", None, 1)
        assert stopped.ledger.repository.get(agent.id).status == "offline"  # it never heartbeat
        again = stopped.ledger.repository.get(agent.id)
        assert again.enabled  # offline, not stopped: its next heartbeat brings it back


def test_a_heartbeating_holder_keeps_its_lease(stopped):
    with freeze_time(T0) as clock:
        agent, task_id = leased_task(stopped)
        liveness = stopped.ledger[AgentCommands].liveness
        drive(stopped)
        for _ in range(6):  # 360 s of heartbeats every 60 s
            clock.tick(timedelta(seconds=59))
            liveness.beat(agent.id, datetime.now(UTC), {"status": "ready"})
            drive(stopped)
        task = stopped.ledger.repository.get(task_id)
        assert task.lease_agent_id == str(agent.id)
        assert task.lease_expires_at > datetime.now(UTC)
        topics = [type(e).TOPIC for e in stopped.ledger.events.get(task_id)]
        assert "task.lease_extended" in topics and "task.lease_expired" not in topics


AGENT_PROCESS = """
import sys, time
from uuid import UUID
from application.agent import AgentCommands
from application.context import CommandContext
from application.dispatch import DispatchCommands
from interfaces.bootstrap import build
from interfaces.settings import Settings

container = build(Settings())
ledger = container.ledger
agent = ledger.repository.get(UUID(sys.argv[1]))
leased, _ = ledger[DispatchCommands].lease_commands(
    CommandContext(actor="agent:test"), agent, [UUID(sys.argv[2])], 1
)
print("leased" if leased else "none", flush=True)
time.sleep(600)
"""


def test_an_agent_process_killed_mid_lease_loses_the_task_to_the_next_agent(database_url):
    settings = make_settings(database_url, agent_lease_seconds=1, agent_offline_after=1)
    container = build(settings)
    container.start()
    try:
        owner = uuid4()
        agents = container.ledger[AgentCommands]
        doomed, survivor = (
            agents.register_agent(CTX, owner, key, {"name": key, "capabilities": ["x"]})[0]
            for key in ("doomed", "survivor")
        )
        [task_id] = queue(container.ledger, owner, 1, "x")
        env = {
            **os.environ,
            "LEDGERFLOW_DATABASE_URL": database_url,
            "LEDGERFLOW_SECRET_KEY": TEST_SECRET,
            "LEDGERFLOW_RUN_PROJECTIONS": "false",
            "LEDGERFLOW_AGENT_LEASE_SECONDS": "1",
        }
        process = subprocess.Popen(
            [sys.executable, "-c", AGENT_PROCESS, str(doomed.aggregate.id), str(task_id)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stdout is not None and process.stdout.readline().strip() == "leased"
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        finally:
            process.kill()
        dispatch = container.ledger[DispatchCommands]
        taken: list[Task] = []

        def retaken() -> bool:
            agent = container.ledger.repository.get(survivor.aggregate.id)
            taken.extend(dispatch.lease_commands(CTX, agent, [task_id], 1)[0])
            return bool(taken)

        wait_for(retaken, timeout=60, interval=0.2)
        assert taken[0].attempts == 2 and taken[0].lease_agent_id == str(survivor.aggregate.id)
        topics = [type(e).TOPIC for e in container.ledger.events.get(task_id)]
        assert topics.count("task.leased") == 2 and "task.lease_expired" in topics
    finally:
        container.close()
