"""The lease brokers of two API processes on real PostgreSQL that run no follower (as the HTTP
workers of ``serve --workers N``): each starts its process's log reader, and since no read model
runs, the queue query finds nothing: each new task is leased from the news that crosses processes
through LISTEN/NOTIFY, and no task is leased twice."""

from __future__ import annotations

import asyncio
import threading
from typing import Any
from uuid import UUID, uuid4

import pytest

from application.agent import AgentCommands
from application.context import CommandContext
from application.dispatch import DispatchCommands
from interfaces.api.agent_broker import LeaseBroker
from interfaces.bootstrap import build
from projections.log_reader import Logged, Tap
from projections.task_dispatch import DispatchQueries
from tests.conftest import make_settings
from tests.integration.helpers import wait_for
from tests.integration.test_agent_leases import assert_leased_once, queue

CTX = CommandContext(actor="system:test")
TASKS = 30


@pytest.fixture
def two_processes(database_url):
    """Two containers on one database, each with its log reader listening and no follower."""
    built = [build(make_settings(database_url)) for _ in range(2)]
    built[0].ensure_read_models()
    yield built
    for container in built:
        container.close()  # stops the readers follow_log started


def listening_broker(container: Any) -> LeaseBroker:
    """The broker of an API process that runs no follower: it starts the process's reader."""
    queries = container.query(DispatchQueries)
    broker = LeaseBroker(
        container.ledger[DispatchCommands],
        queries,
        lambda: container.watch.position(queries.name),
        lambda who, at: None,
    )
    broker.follow(container.follow_log())
    return broker


def test_the_readers_tap_hands_over_the_events_it_wants_in_log_order_from_any_process(
    two_processes,
):
    container = two_processes[0]
    seen: list[Logged] = []
    arrived = threading.Event()

    def deliver(events: list[Logged]) -> None:
        seen.extend(events)
        if sum(e.topic == "task.assigned" for e in seen) == 3:
            arrived.set()

    queue(container.ledger, uuid4(), 2)  # before the window opens: not handed over
    container.reader.add_tap(Tap(lambda topic: topic == "task.assigned", deliver))
    assert container.follow_log() is container.reader  # its window opens at the log's head
    ids = queue(two_processes[1].ledger, uuid4(), 3)  # committed by the other process
    assert arrived.wait(10)
    assert [e.originator_id for e in seen] == ids
    assert [e.position for e in seen] == sorted(e.position for e in seen)


def test_brokers_of_two_processes_lease_each_new_task_once_from_the_news(
    two_processes, database_url
):
    """Three polls wait in each process; TASKS tasks are committed at once. Each broker hears of
    all of them (its reader's LISTEN), loads them and offers every one to its polls (3 x 10
    wanted): the event store lets exactly one process win each task."""
    owner = uuid4()
    brokers = [listening_broker(container) for container in two_processes]
    agents = [
        two_processes[0]
        .ledger[AgentCommands]
        .register_agent(CTX, owner, f"agent-{i}", {"name": f"a{i}", "capabilities": ["x"]})[0]
        .aggregate
        for i in range(6)
    ]
    got: dict[UUID, list[UUID]] = {}
    stop = threading.Event()

    async def poll(broker: LeaseBroker, agent: Any) -> None:
        got[agent.id] = [t.id for t in await broker.take(agent, CTX, 10, 30)]

    async def process(index: int) -> None:
        polls = [asyncio.create_task(poll(brokers[index], a)) for a in agents[index::2]]
        while not stop.is_set() and not all(p.done() for p in polls):
            await asyncio.sleep(0.01)
        for pending in polls:
            pending.cancel()  # a poll whose process lost every offer would wait its 30 s
        await asyncio.gather(*polls, return_exceptions=True)

    threads = [threading.Thread(target=asyncio.run, args=(process(i),)) for i in range(2)]
    for thread in threads:
        thread.start()
    wait_for(
        lambda: all(len(b._waiters) == 3 and b._running and b._running.done() for b in brokers)
    )
    ids = queue(two_processes[0].ledger, owner, TASKS, "x")  # one commit
    wait_for(lambda: sum(len(v) for v in got.values()) >= TASKS)
    stop.set()
    for thread in threads:
        thread.join(30)
    assert_leased_once(got, ids, database_url)
