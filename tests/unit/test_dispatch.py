"""The lease state machine of a dispatched task, capability routing, and the dispatch handlers on
the in-memory persistence (a lost race is a skipped candidate, never a double lease)."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from application.agent import AgentCommands
from application.agent_token import AgentTokens
from application.context import CommandContext
from application.credential import CredentialVault
from application.dispatch import DispatchCommands, Reporter
from application.error import ConcurrentChange, InvalidToken
from application.ledger import Ledger
from domain.agent import Agent, AgentExists, AgentStopped, agent_id_for
from domain.dispatch import (
    LEASE_LOSSES_MAX,
    LOGS_MAX,
    LeaseNotHeld,
    ProgressOutOfRange,
    TaskCancelled,
    TaskFinished,
    TaskNotQueued,
    can_take,
)
from domain.task import Task
from tests.conftest import TEST_SECRET

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CTX = CommandContext(actor="system:test")


def queued(**dispatch):
    task = Task.create(uuid4(), "Fix login")
    task.assign({"intent": "fix-bug", **dispatch})
    return task


def test_a_queued_task_is_leased_once_and_a_second_lease_is_refused():
    task, agent = queued(), uuid4()
    task.lease(agent, NOW, 300)
    assert (task.status, task.attempts, task.lease_expires_at) == (
        "in_progress",
        1,
        NOW + timedelta(seconds=300),
    )
    with pytest.raises(TaskNotQueued):
        task.lease(uuid4(), NOW, 300)


def test_a_plain_task_is_never_leased():
    with pytest.raises(TaskNotQueued):
        Task.create(uuid4(), "Behflow task").lease(uuid4(), NOW, 300)


def test_an_expired_lease_goes_back_to_the_queue_and_the_next_lease_is_attempt_two():
    task, agent = queued(), uuid4()
    task.lease(agent, NOW, 300)
    assert task.expire_lease(NOW + timedelta(seconds=299)) is False
    assert task.expire_lease(NOW + timedelta(seconds=300)) is True
    assert (task.status, task.lease_agent_id) == ("not_started", None)
    task.lease(uuid4(), NOW, 300)
    assert task.attempts == 2
    types = [type(e).TOPIC for e in task.collect_events()]
    assert types[-3:] == ["task.leased", "task.lease_expired", "task.leased"]


def test_progress_extends_the_lease_and_is_refused_out_of_range_or_from_a_non_holder():
    task, agent = queued(), uuid4()
    task.lease(agent, NOW, 300)
    later = NOW + timedelta(seconds=200)
    task.report_progress(agent, {"progress": 0.5, "step": "tests"}, later, 300)
    assert (task.progress, task.current_step) == (0.5, "tests")
    assert task.lease_expires_at == later + timedelta(seconds=300)
    assert task.expire_lease(NOW + timedelta(seconds=400)) is False
    with pytest.raises(ProgressOutOfRange, match="Progress must be between 0 and 1"):
        task.report_progress(agent, {"progress": 1.5}, later, 300)
    with pytest.raises(LeaseNotHeld):
        task.complete(uuid4(), {"summary": "not mine"})


def test_a_finished_or_cancelled_task_refuses_reports_with_a_conflict():
    done, agent = queued(), uuid4()
    done.lease(agent, NOW, 300)
    done.complete(agent, {"summary": "ok", "result_files": {"camelKey": [1]}})
    assert done.result == {
        "summary": "ok",
        "output": None,
        "pr_url": None,
        "result_files": {"camelKey": [1]},
    }
    with pytest.raises(TaskFinished):
        done.report_progress(agent, {"progress": 1.0}, NOW, 300)
    cancelled = queued()
    cancelled.lease(agent, NOW, 300)
    cancelled.cancel("no longer needed")
    cancelled.cancel()  # again: a no-op
    with pytest.raises(TaskCancelled):
        cancelled.fail(agent, "boom", None, None)
    with pytest.raises(TaskFinished):
        done.cancel()


def test_failures_are_retried_until_max_attempts_then_dead_lettered_and_requeued():
    task, agent = queued(max_attempts=2), uuid4()
    task.lease(agent, NOW, 300)
    assert task.fail(agent, "clone failed", None, "x" * (LOGS_MAX + 10)) is False
    assert task.status == "not_started"
    task.lease(agent, NOW, 300)
    assert task.fail(agent, "clone failed again", None, None) is True
    assert (task.status, task.dead_lettered, task.error) == (
        "failed",
        "max_attempts",
        "clone failed again",
    )
    with pytest.raises(TaskNotQueued):
        task.lease(agent, NOW, 300)
    task.requeue()
    assert (task.status, task.attempts, task.dead_lettered) == ("not_started", 0, None)
    logged = next(e for e in task.collect_events() if type(e).TOPIC == "task.failed")
    assert len(logged.logs) == LOGS_MAX


def test_losing_the_lease_too_often_dead_letters_the_task():
    task = queued()
    for _ in range(LEASE_LOSSES_MAX):
        task.lease(uuid4(), NOW, 1)
        assert task.expire_lease(NOW + timedelta(seconds=1))
    assert (task.status, task.dead_lettered) == ("failed", "lease_lost")


def test_an_agent_takes_a_task_pinned_to_it_or_one_whose_intent_it_can_do():
    me = uuid4()
    assert can_take(me, ["fix-bug"], [], None, "fix-bug", [])
    assert not can_take(me, ["review-pr"], [], None, "fix-bug", [])
    assert can_take(me, [], [], str(me), None, [])
    assert not can_take(me, ["fix-bug"], [], str(uuid4()), "fix-bug", [])  # pinned elsewhere
    assert can_take(me, ["fix-bug"], ["git"], None, "fix-bug", ["git"])
    assert not can_take(me, ["fix-bug"], [], None, "fix-bug", ["git"])  # lacks a tool
    assert not can_take(me, ["fix-bug"], [], None, None, [])  # neither pinned nor an intent


def test_an_agents_id_is_uuid5_of_owner_and_key_and_stop_start_rotate_delete():
    owner = uuid4()
    agent = Agent.register(owner, "agent-uuid", {"name": "my-agent", "capabilities": ["a", "a"]})
    assert agent.id == agent_id_for(owner, "agent-uuid") != agent_id_for(uuid4(), "agent-uuid")
    assert (agent.status, agent.enabled, agent.capabilities) == ("idle", True, ["a"])
    agent.stop()
    assert (agent.status, agent.enabled) == ("offline", False)
    with pytest.raises(AgentStopped):
        agent.ensure_dispatchable()
    agent.start()
    assert agent.rotate_token() == 2
    agent.delete()
    assert not agent.visible_to(owner)
    topics = [type(e).TOPIC for e in agent.collect_events()]
    assert topics == [
        "agent.registered",
        "agent.status_changed",
        "agent.status_changed",
        "agent.token_rotated",
        "agent.deleted",
    ]


@pytest.fixture
def ledger():
    app = Ledger(credentials=CredentialVault("secret"))
    app.register(AgentCommands(app, AgentTokens(TEST_SECRET)))
    app.register(DispatchCommands(app, 300, clock=lambda: NOW))
    yield app
    app.close()


def test_registering_a_key_twice_is_agent_exists_and_tokens_die_with_rotation(ledger):
    owner = uuid4()
    agents = ledger[AgentCommands]
    written, token, expires = agents.register_agent(CTX, owner, "k", {"name": "n"})
    assert expires - datetime.now(UTC) > timedelta(days=29)
    with pytest.raises(AgentExists):
        agents.register_agent(CTX, owner, "k", {"name": "again"})
    claims = agents.tokens.verify(token)
    assert agents.agent_for_token(claims).id == written.aggregate.id
    agents.rotate_token(CTX, owner, written.aggregate.id)
    with pytest.raises(InvalidToken):
        agents.agent_for_token(claims)
    stored = [e.__dict__ for e in ledger.events.get(written.aggregate.id)]
    assert token not in repr(stored)  # the token is never in an event


def test_a_poller_that_loses_the_race_skips_the_task_and_leases_the_next(ledger):
    owner = uuid4()
    agents = ledger[AgentCommands]
    a = agents.register_agent(CTX, owner, "a", {"name": "a", "capabilities": ["x"]})[0].aggregate
    b = agents.register_agent(CTX, owner, "b", {"name": "b", "capabilities": ["x"]})[0].aggregate
    first, second = (Task.create(owner, name) for name in ("first", "second"))
    for task in (first, second):
        task.assign({"intent": "x"})
    ledger.save(first, second)
    stale = ledger.repository.get(first.id)  # b's view of the first task, before a leases it
    dispatch = ledger[DispatchCommands]
    leased_a, _ = dispatch.lease_commands(CTX, a, [first.id], 1)
    stale.lease(b.id, NOW, 300)
    with pytest.raises(ConcurrentChange):
        ledger.commit(CTX, stale)  # what a racing process's commit meets
    leased_b, _ = dispatch.lease_commands(CTX, b, [first.id, second.id], 1)
    assert [t.id for t in leased_a] == [first.id]
    assert [t.id for t in leased_b] == [second.id]
    assert ledger.repository.get(first.id).lease_agent_id == str(a.id)


def test_only_the_holder_or_the_owner_reports(ledger):
    owner = uuid4()
    agent = ledger[AgentCommands].register_agent(CTX, owner, "a", {"name": "a"})[0].aggregate
    task = Task.create(owner, "pinned")
    task.assign({"agent_id": agent.id})
    ledger.save(task)
    dispatch = ledger[DispatchCommands]
    dispatch.lease_commands(CTX, agent, [task.id], 10)
    with pytest.raises(LeaseNotHeld):
        dispatch.report_progress(CTX, Reporter(owner, uuid4()), task.id, {"progress": 0.1})
    done = dispatch.complete_task(CTX, Reporter(owner), task.id, {"summary": "by the owner"})
    assert done.aggregate.status == "completed"
