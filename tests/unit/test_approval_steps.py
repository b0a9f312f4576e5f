"""Approval steps in runs and the notifier, on the in-memory persistence: the engine, the
approvals reactor and the notifier driven together."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from argon2 import PasswordHasher

from application.approval import ApprovalCommands, Voter
from application.approval_gate import APPROVAL_STEP, ApprovalGate
from application.credential import CredentialVault
from application.flow import FlowCommands
from application.ledger import Ledger
from application.notification import NotificationCommands, Notifier
from application.run_engine import RunEngine
from application.step_types import FLOW_STEP_KINDS
from application.task import TaskCommands
from domain.approval import AmbiguousApproval, NoPendingApproval, SelfApproval
from domain.notification import Notification
from domain.run import RunNotFound
from tests.unit.engine_driver import CTX, OWNER, Driver

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
ALICE, BOB, ADMIN = uuid4(), uuid4(), uuid4()


class Directory:
    """The users read model as the notifier sees it."""

    def active_with_roles(self, roles):
        return [ADMIN] if "admin" in roles else []


@pytest.fixture
def driver():
    ledger = Ledger(credentials=CredentialVault("secret", hasher=FAST))
    ledger.register(FlowCommands(ledger, kinds=(*FLOW_STEP_KINDS, APPROVAL_STEP)))
    engine = RunEngine(ledger)
    yield Driver(ledger, engine, ApprovalGate(ledger), Notifier(ledger, Directory()))
    ledger.close()


def gate(key, depends_on=None, **config):
    step = {"key": key, "name": key, "type": "approval", "config": config}
    return step if depends_on is None else {**step, "depends_on": depends_on}


def task(key):
    return {"key": key, "name": key, "type": "task", "config": {"name": key}}


def statuses(run):
    return {s["key"]: run.step_state(s["step_id"])["status"] for s in run.steps}


def notifications(driver, recipient):
    found = []
    for n in driver.ledger.recorder.select_notifications(start=1, limit=1000):
        if n.topic == "notification.created":
            event = driver.ledger.mapper.to_domain_event(n)
            if event.recipient_id == recipient:
                found.append(event)
    return found


def vote(driver, run, user, approve=True, step_id=None, role="member"):
    done = driver.ledger[ApprovalCommands].vote_on_run(
        CTX, Voter(user, role), run.id, step_id, approve, "why not"
    )
    driver.settle()
    return done


def test_an_approval_step_makes_the_run_wait_and_its_approval_lets_it_go_on(driver):
    run = driver.run([gate("ok", approver_user_ids=[str(ALICE)]), task("after")])
    assert run.status == "waiting" and statuses(run) == {"ok": "waiting", "after": "pending"}
    done = vote(driver, run, ALICE)
    assert done.written.aggregate.status == "approved"
    run = driver.get(run.id)
    assert run.status == "succeeded"
    result = run.step_state(run.steps[0]["step_id"])["result"]
    assert result["decision"] == "approved" and result["decided_by"] == [str(ALICE)]
    assert [n.kind for n in notifications(driver, ALICE)] == ["approval_requested"]


def test_a_reject_fails_the_step_and_the_run_and_tells_its_owner(driver):
    run = driver.run([gate("ok", approver_user_ids=[str(ALICE)]), task("after")])
    vote(driver, run, ALICE, approve=False)
    run = driver.get(run.id)
    assert run.status == "failed" and statuses(run) == {"ok": "failed", "after": "skipped"}
    assert "rejected by user" in run.error
    assert [n.kind for n in notifications(driver, OWNER)] == ["run_failed"]


def test_the_run_owner_may_not_approve_their_own_step_unless_allowed(driver):
    run = driver.run([gate("ok")])
    with pytest.raises(SelfApproval):
        vote(driver, run, OWNER)
    allowed = driver.run([gate("ok", allow_self_approval=True)])
    vote(driver, allowed, OWNER)
    assert driver.get(allowed.id).status == "succeeded"


def test_several_waiting_approval_steps_need_a_step_id(driver):
    run = driver.run([gate("a", approver_roles=["admin"]), gate("b", [], approver_roles=["admin"])])
    with pytest.raises(AmbiguousApproval):
        vote(driver, run, ADMIN, role="admin")
    for step in run.steps:
        vote(driver, run, ADMIN, step_id=step["step_id"], role="admin")
    assert driver.get(run.id).status == "succeeded"
    assert len(notifications(driver, ADMIN)) == 2
    with pytest.raises(NoPendingApproval):
        vote(driver, run, ADMIN, role="admin")


def test_an_expired_step_approval_takes_its_on_expiry_outcome(driver):
    approved = driver.run([gate("a", expires_in_seconds=60, on_expiry="approved")])
    rejected = driver.run([gate("b", expires_in_seconds=60)])
    fired = driver.fire_due(driver.get(approved.id).created_on + timedelta(minutes=5))
    assert len(fired) == 2
    assert driver.get(approved.id).status == "succeeded"
    assert driver.get(rejected.id).status == "failed"
    assert "expired" in driver.get(rejected.id).error


def test_a_cancelled_run_cancels_its_approval(driver):
    run = driver.run([gate("a", approver_user_ids=[str(ALICE)])])
    approval_id = run.step_state(run.steps[0]["step_id"])["approval_id"]
    driver.ledger[FlowCommands].cancel_run(CTX, OWNER, run.id, "enough")
    driver.settle()
    assert driver.ledger.repository.get(approval_id).status == "cancelled"


def test_strangers_get_not_found_for_a_run(driver):
    run = driver.run([gate("a", approver_user_ids=[str(ALICE)])])
    with pytest.raises(RunNotFound):
        vote(driver, run, BOB)


def test_a_dead_lettered_task_notifies_its_owner_and_notifications_are_read_once(driver):
    task_id = driver.ledger[TaskCommands].create_task(CTX, OWNER, "t").aggregate.id
    driver.ledger.change(
        CTX,
        lambda: driver.ledger.repository.get(task_id),
        task_id,
        None,
        lambda t: t.dead_letter("max_attempts"),
    )
    driver.settle()
    (sent,) = notifications(driver, OWNER)
    assert sent.kind == "task_dead_lettered" and sent.subject["id"] == str(task_id)
    inbox = driver.ledger[NotificationCommands]
    assert inbox.read_all(CTX, OWNER, [sent.originator_id])[0] == 1
    assert inbox.read_all(CTX, OWNER, [sent.originator_id]) == (0, 0)
    read: Notification = driver.ledger.repository.get(sent.originator_id)
    assert read.read
