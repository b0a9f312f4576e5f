"""The lease broker on the in-memory persistence: one queue query serves every waiting poll, the
least-served agent first; a waiting poll costs no query until the tasks read model changes; a
task it leased is not offered again while the read model lags; the log reader's news leases a
task the read model has not applied yet, and the read model's notification then reads the queue
only for what the news did not name; and commands name the run and step of a flow's agent-step
task."""

import asyncio
from types import SimpleNamespace
from uuid import uuid4

import pytest

from application.agent import AgentCommands
from application.context import CommandContext
from application.dispatch import DispatchCommands
from domain.run_task import RunTask
from domain.task import Task
from interfaces.api.agent_broker import LeaseBroker
from interfaces.api.agent_view import command_out, step_task_ids
from projections.log_reader import Logged
from tests.unit import test_dispatch

CTX = CommandContext(actor="system:test")
ledger = test_dispatch.ledger  # the same fixture: the in-memory ledger with the dispatch handlers


class Queue:
    """The tasks read model's queue as the broker reads it, from the aggregates (``lag``: the
    leases it has not applied yet); counts its queries."""

    def __init__(self, ledger):
        self.ledger = ledger
        self.ids = []
        self.queries = 0
        self.lag = False
        self.unapplied = set()  # tasks the read model has not applied yet

    def add(self, owner, applied=True, **dispatch):
        task = Task.create(owner, "work")
        task.assign(dispatch)
        self.ledger.save(task)
        self.ids.append(task.id)
        if not applied:
            self.unapplied.add(task.id)
        return task.id

    def queued_among(self, owners, agent_ids, capabilities, limit):
        self.queries += 1
        rows = []
        for task_id in self.ids:
            if task_id in self.unapplied:
                continue
            task = self.ledger.repository.get(task_id)
            if task.owner_id in owners and (self.lag or task.lease_agent_id is None):
                rows.append(
                    {
                        "task_id": task.id,
                        "owner_id": task.owner_id,
                        "agent_id": task.agent_id,
                        "intent": task.intent,
                        "required_tools": task.required_tools,
                    }
                )
        return rows[:limit]


class Reader:
    """The process's log reader as the broker follows it: how far it has read, and its taps."""

    def __init__(self, head=0):
        self.head = head
        self.taps = []

    def add_tap(self, tap):
        self.taps.append(tap)


def broker_of(ledger, queue, wrote=None, applied=lambda: 0, reader=None):
    written = [] if wrote is None else wrote
    broker = LeaseBroker(
        ledger[DispatchCommands], queue, applied, lambda who, at: written.append((who, at))
    )
    if reader is not None:
        broker.follow(reader)
    return broker


def news(task_id, owner, position):
    """What the log reader hands the broker's tap for a new dispatched task."""
    created = SimpleNamespace(owner_id=owner)
    return [
        Logged(position - 1, "task.created", task_id, 1, b"", created),
        Logged(position, "task.assigned", task_id, 2, b"", SimpleNamespace()),
    ]


async def settled(broker):
    """Wait until the broker's passes so far are done."""
    for _ in range(1000):
        await asyncio.sleep(0)
        if broker._running is not None and broker._running.done():
            return
    await asyncio.wait_for(asyncio.shield(broker._running), 10)


def agent(ledger, owner, key, **profile):
    found = ledger[AgentCommands].register_agent(CTX, owner, key, {"name": key, **profile})
    return found[0].aggregate


def test_one_query_serves_every_waiter_least_served_first_by_capability_pin_and_owner(ledger):
    owner, other = uuid4(), uuid4()
    a = agent(ledger, owner, "a", capabilities=["x"])
    b = agent(ledger, owner, "b", capabilities=["x", "y"])
    queue = Queue(ledger)
    for_b = queue.add(owner, intent="y")
    x1, x2, x3 = (queue.add(owner, intent="x") for _ in range(3))
    pinned_a = queue.add(owner, agent_id=a.id)
    queue.add(other, intent="x")  # another owner's: nobody here may take it
    written = []
    broker = broker_of(ledger, queue, written)

    async def run():
        return await asyncio.gather(broker.take(a, CTX, 10, 0), broker.take(b, CTX, 10, 0))

    got_a, got_b = asyncio.run(run())
    assert queue.queries == 1  # both polls in one pass
    assert [t.id for t in got_b] == [
        for_b,
        x3,
    ]  # x1 to a (b had one), x2 to a (a tie: a waited longer)
    assert [t.id for t in got_a] == [x1, x2, pinned_a]
    assert {who for who, _ in written} == {a.id, b.id, owner}


def test_a_waiting_poll_costs_no_query_until_the_tasks_read_model_changes(ledger):
    owner = uuid4()
    a = agent(ledger, owner, "a", capabilities=["x"])
    queue = Queue(ledger)
    broker = broker_of(ledger, queue)

    async def run():
        poll = asyncio.create_task(broker.take(a, CTX, 10, 30))
        for _ in range(50):
            await asyncio.sleep(0)  # the pass on arrival runs and finds nothing
            if queue.queries and broker._running.done():
                break
        await asyncio.sleep(0.05)
        idle = queue.queries
        broker.changed({"users"})  # another read model: no pass
        await asyncio.sleep(0.05)
        assert queue.queries == idle == 1
        task_id = queue.add(owner, intent="x")
        await asyncio.to_thread(broker.changed, {"tasks"})  # the watch thread's notification
        got = await asyncio.wait_for(poll, 10)
        return task_id, got

    task_id, got = asyncio.run(run())
    assert [t.id for t in got] == [task_id]
    assert queue.queries == 2


def test_a_task_leased_here_is_not_offered_again_while_the_read_model_lags(ledger):
    owner = uuid4()
    a = agent(ledger, owner, "a", capabilities=["x"])
    b = agent(ledger, owner, "b", capabilities=["x"])
    queue = Queue(ledger)
    first = queue.add(owner, intent="x")
    broker = broker_of(ledger, queue)
    taken = asyncio.run(broker.take(a, CTX, 1, 0))
    queue.lag = True  # the read model still shows the first task queued
    second = queue.add(owner, intent="x")
    again = asyncio.run(broker.take(b, CTX, 1, 0))
    assert [t.id for t in taken] == [first]
    assert [t.id for t in again] == [second]
    assert ledger.repository.get(first).lease_agent_id == str(a.id)


def test_commands_name_the_run_and_step_of_an_agent_steps_task(ledger):
    owner, run_id, step_id = uuid4(), uuid4(), uuid4()
    step_task = Task.create(owner, "fix")
    step_task.assign({"intent": "x", "max_attempts": 1})  # an agent step's task
    plain = Task.create(owner, "plain")
    plain.assign({"intent": "x"})
    ledger.save(step_task, plain, RunTask.link(step_task.id, run_id, step_id, 1))
    assert step_task_ids([step_task, plain]) == [step_task.id]
    steps = ledger[DispatchCommands].run_steps([step_task.id, plain.id])
    out = command_out(step_task, steps)
    assert (out["run_id"], out["step_id"]) == (str(run_id), str(step_id))
    assert (command_out(plain, steps)["run_id"], command_out(plain)["step_id"]) == (None, None)


def test_the_readers_news_leases_a_task_the_read_model_has_not_applied_without_a_query(ledger):
    owner, other = uuid4(), uuid4()
    a = agent(ledger, owner, "a", capabilities=["x"])
    queue = Queue(ledger)
    reader = Reader()
    broker = broker_of(ledger, queue, reader=reader)
    [tap] = reader.taps
    assert not tap.wants("task.leased") and tap.wants("task.assigned")

    async def run():
        poll = asyncio.create_task(broker.take(a, CTX, 10, 30))
        await settled(broker)  # the pass on arrival: one query, nothing queued
        passes = broker.passes
        foreign = queue.add(other, applied=False, intent="x")
        await asyncio.to_thread(tap.deliver, news(foreign, other, 2))
        await settled(broker)
        assert broker.passes == passes  # nobody waits for the other owner's task: not loaded
        task_id = queue.add(owner, applied=False, intent="x")
        await asyncio.to_thread(tap.deliver, news(task_id, owner, 4))  # the reader's thread
        return task_id, await asyncio.wait_for(poll, 10)

    task_id, got = asyncio.run(run())
    assert [t.id for t in got] == [task_id]
    assert queue.queries == 1  # leased from the news: the queue was read on arrival only
    assert ledger.repository.get(task_id).lease_agent_id == str(a.id)


def test_the_read_models_notification_reads_the_queue_only_for_what_the_news_did_not_name(
    ledger,
):
    owner = uuid4()
    a = agent(ledger, owner, "a", capabilities=["x"])
    queue = Queue(ledger)
    reader = Reader(head=5)
    at = {"applied": 5}
    broker = broker_of(ledger, queue, applied=lambda: at["applied"], reader=reader)

    async def run():
        poll = asyncio.create_task(broker.take(a, CTX, 10, 30))
        await settled(broker)
        broker.changed({"tasks"})  # the reader has read all the read model applied: named
        await settled(broker)
        assert queue.queries == 1
        task_id = queue.add(owner, intent="x")
        at["applied"] = 7  # the read model applied what this process's reader has not read
        await asyncio.to_thread(broker.changed, {"tasks"})
        return task_id, await asyncio.wait_for(poll, 10)

    task_id, got = asyncio.run(run())
    assert [t.id for t in got] == [task_id]
    assert queue.queries == 2


@pytest.mark.parametrize("read", ["before the broker followed", "to none"])
def test_news_read_before_a_poll_arrived_is_read_from_the_queue_once_the_read_model_has_it(
    ledger, read
):
    """The poll's queue read on arrival cannot see the task yet; the read model's notification
    that it has reads the queue again (news a pass offered to its polls needs no second read)."""
    owner = uuid4()
    a = agent(ledger, owner, "a", capabilities=["x"])
    other = agent(ledger, owner, "z", capabilities=["z"])  # waits, may not take it ("to none")
    queue = Queue(ledger)
    at = {"applied": 3}
    task_id = queue.add(owner, applied=False, intent="x")  # read at position 5, not applied
    reader = Reader(head=5 if read == "before the broker followed" else 3)
    broker = broker_of(ledger, queue, applied=lambda: at["applied"], reader=reader)

    async def run():
        waiting = asyncio.create_task(broker.take(other, CTX, 10, 30))
        await settled(broker)
        if read == "to none":
            reader.head = 5
            await asyncio.to_thread(reader.taps[0].deliver, news(task_id, owner, 5))
            await settled(broker)
        queries = queue.queries
        poll = asyncio.create_task(broker.take(a, CTX, 10, 30))
        await settled(broker)  # the queue read on arrival misses it: not applied yet
        at["applied"] = 4
        broker.changed({"tasks"})  # not there yet: no query
        await settled(broker)
        assert queue.queries == queries + 1
        at["applied"] = 5
        queue.unapplied.clear()
        await asyncio.to_thread(broker.changed, {"tasks"})
        got = await asyncio.wait_for(poll, 10)
        waiting.cancel()
        return got, queue.queries - queries

    got, queries = asyncio.run(run())
    assert [t.id for t in got] == [task_id]
    assert queries == 2


def test_news_offered_to_the_polls_does_not_make_the_notification_read_the_queue(ledger):
    owner = uuid4()
    a, b = (agent(ledger, owner, k, capabilities=["x"]) for k in "ab")
    queue = Queue(ledger)
    at = {"applied": 3}
    reader = Reader(head=3)
    broker = broker_of(ledger, queue, applied=lambda: at["applied"], reader=reader)
    task_id = queue.add(owner, applied=False, intent="x")

    async def run():
        first = asyncio.create_task(broker.take(a, CTX, 10, 30))
        await settled(broker)
        reader.head = 5
        await asyncio.to_thread(reader.taps[0].deliver, news(task_id, owner, 5))
        got = await asyncio.wait_for(first, 10)
        second = asyncio.create_task(broker.take(b, CTX, 10, 30))  # the read model still lags
        await settled(broker)
        at["applied"] = 5
        queue.unapplied.clear()
        broker.changed({"tasks"})  # the news was offered: no second read of the queue
        await settled(broker)
        second.cancel()
        return got

    assert [t.id for t in asyncio.run(run())] == [task_id]
    assert queue.queries == 2  # the two arrivals


def test_news_read_while_no_poll_waits_is_offered_to_the_next_poll_to_arrive(ledger):
    owner, other = uuid4(), uuid4()
    a = agent(ledger, owner, "a", capabilities=["x"])
    queue = Queue(ledger)
    reader = Reader(head=3)
    broker = broker_of(ledger, queue, applied=lambda: 3, reader=reader)
    loads = []
    dispatch = ledger[DispatchCommands]
    broker._dispatch = SimpleNamespace(
        queued_tasks=lambda ids: loads.extend(ids) or dispatch.queued_tasks(ids),
        lease_each=dispatch.lease_each,
    )
    foreign = queue.add(other, applied=False, intent="x")
    task_id = queue.add(owner, applied=False, intent="x")
    reader.head = 7
    reader.taps[0].deliver([*news(foreign, other, 5), *news(task_id, owner, 7)])  # all busy
    assert broker.passes == 0
    got = asyncio.run(broker.take(a, CTX, 10, 30))  # the read model has not applied it yet
    assert [t.id for t in got] == [task_id]
    assert loads == [task_id]  # the other owner's task is left to the queue, not loaded
    assert queue.queries == 1
