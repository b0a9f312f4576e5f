"""Approvals on real PostgreSQL: an expiry fires once with two reactor instances, two voters
racing from two processes' ledgers decide once, and the read model's visibility rules."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from application.approval import ApprovalCommands, Voter
from application.approval_gate import ApprovalGate
from application.context import CommandContext
from domain.approval import ApprovalDecided
from interfaces.adapters.reactor_runner import ReactorRunner
from interfaces.bootstrap import build, conninfo
from projections.approval import ApprovalQueries
from projections.runner import ProjectionRunner
from tests.conftest import make_settings
from tests.integration.helpers import tracked, wait_for

CTX = CommandContext(actor="system:test")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def topics(database_url: str, topic: str) -> dict[UUID, int]:
    """How many events of ``topic`` each aggregate has."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT originator_id, count(*) FROM ledgerflow_events WHERE topic = %s"
            " GROUP BY originator_id",
            (topic,),
        ).fetchall()
    return dict(rows)


def test_an_expiry_fires_exactly_once_with_two_reactor_instances(stopped):
    stopped.ledger.register(ApprovalCommands(stopped.ledger, clock=lambda: NOW))
    commands = stopped.ledger[ApprovalCommands]
    fields = {"title": "Ship it", "expires_in_seconds": 600, "on_expiry": "approved"}
    expiring = [commands.request(CTX, uuid4(), fields).aggregate.id for _ in range(5)]
    lasting = commands.request(CTX, uuid4(), {"title": "No expiry"}).aggregate.id
    clock = {"now": NOW}
    runners = [
        ReactorRunner(
            conninfo(stopped.database_url),
            ApprovalGate(stopped.ledger),
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
        wait_for(lambda: tracked(stopped.database_url, "reactor.approvals") >= 6)
        assert sum(r.status().active for r in runners) == 1
        assert topics(stopped.database_url, "approval.expired") == {}
        clock["now"] = NOW + timedelta(minutes=10)
        wait_for(lambda: len(topics(stopped.database_url, "approval.expired")) == 5)
        clock["now"] = NOW + timedelta(days=1)
        for runner in runners:
            runner.stop()
        for runner in runners:  # each instance in turn finds nothing left to fire
            with psycopg.connect(conninfo(stopped.database_url), autocommit=True) as conn:
                runner.catch_up(conn)
    finally:
        for runner in runners:
            runner.stop()
        stopped.reader.stop()
    expired = topics(stopped.database_url, "approval.expired")
    assert set(expired) == set(expiring) and set(expired.values()) == {1}
    assert stopped.ledger.repository.get(expiring[0]).outcome == "approved"
    assert stopped.ledger.repository.get(lasting).status == "pending"


@pytest.fixture
def second(database_url: str) -> Any:
    """Another process's ledger on the same database (its own in-process locks)."""
    built = build(make_settings(database_url))
    yield built
    built.close()


def test_two_voters_racing_from_two_processes_decide_an_approval_once(stopped, second):
    alice, bob = uuid4(), uuid4()
    fields = {"title": "Race", "approver_user_ids": [alice, bob], "quorum": 1}
    request = stopped.ledger[ApprovalCommands].request
    ids = [request(CTX, uuid4(), fields).aggregate.id for _ in range(3)]
    outcomes: list[str] = []
    lock = threading.Lock()

    def vote(ledger: Any, voter: UUID, approve: bool, approval_id: UUID, gate: Any) -> None:
        gate.wait()
        try:
            ledger[ApprovalCommands].vote(CTX, Voter(voter, "member"), approval_id, approve)
            result = "voted"
        except ApprovalDecided:
            result = "refused"
        with lock:
            outcomes.append(result)

    for approval_id in ids:
        gate = threading.Barrier(2)
        threads = [
            threading.Thread(target=vote, args=(stopped.ledger, alice, True, approval_id, gate)),
            threading.Thread(target=vote, args=(second.ledger, bob, False, approval_id, gate)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(outcomes) == ["refused"] * 3 + ["voted"] * 3
    decided = {
        **topics(stopped.database_url, "approval.approved"),
        **topics(stopped.database_url, "approval.rejected"),
    }
    assert set(decided) == set(ids) and set(decided.values()) == {1}
    assert sum(topics(stopped.database_url, "approval.vote_recorded").values()) == 3


def drive(container: Any) -> None:
    """Catch the read models up, in this thread."""
    with psycopg.connect(conninfo(container.database_url), autocommit=True) as conn:
        for runner in container.runners:
            if type(runner) is ProjectionRunner:
                runner.catch_up(conn)


def test_the_list_shows_each_user_what_they_may_see(stopped):
    requester, alice, bob, admin = uuid4(), uuid4(), uuid4(), uuid4()
    commands = stopped.ledger[ApprovalCommands]
    listed = commands.request(
        CTX, requester, {"title": "Listed", "approver_user_ids": [alice]}
    ).aggregate.id
    commands.request(CTX, requester, {"title": "Admins", "approver_roles": ["admin"]})
    commands.request(CTX, requester, {"title": "Anyone"})
    commands.vote(CTX, Voter(alice, "member"), listed, True, "fine")
    drive(stopped)
    approvals: ApprovalQueries = stopped.query(ApprovalQueries)

    def titles(user: UUID, role: str, **filters: Any) -> list[str]:
        rows, _ = approvals.list(user, role, {"status": None, **filters})
        return sorted(row["title"] for row in rows)

    assert titles(requester, "member", mine="requested") == ["Admins", "Anyone", "Listed"]
    assert titles(alice, "member") == ["Anyone", "Listed"]
    assert titles(alice, "member", mine="to_decide") == ["Anyone"]
    assert titles(bob, "viewer") == []
    assert titles(admin, "admin", mine="to_decide") == ["Admins", "Anyone"]
    assert titles(bob, "member", status="pending") == ["Anyone"]
    row = approvals.get(listed)
    assert row["status"] == "approved" and row["approvals_count"] == 1
    assert row["decisions"][0]["comment"] == "fine" and row["voters"] == [alice]
