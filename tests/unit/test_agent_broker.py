"""The lease broker on the in-memory persistence: one queue query serves every waiting poll, the
least-served agent first; a waiting poll costs no query until the tasks read model changes; a
task it leased is not offered again while the read model lags; and commands name the run and
step of a flow's agent-step task."""

import asyncio
from uuid import uuid4

from application.agent import AgentCommands
from application.context import CommandContext
from application.dispatch import DispatchCommands
from domain.run_task import RunTask
from domain.task import Task
from interfaces.api.agent_broker import LeaseBroker
from interfaces.api.agent_view import command_out, step_task_ids
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

    def add(self, owner, **dispatch):
        task = Task.create(owner, "work")
        task.assign(dispatch)
        self.ledger.save(task)
        self.ids.append(task.id)
        return task.id

    def queued_among(self, owners, agent_ids, capabilities, limit):
        self.queries += 1
        rows = []
        for task_id in self.ids:
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


def broker_of(ledger, queue, wrote=None):
    written = [] if wrote is None else wrote
    return LeaseBroker(
        ledger[DispatchCommands], queue, lambda: 0, lambda who, at: written.append((who, at))
    )


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
