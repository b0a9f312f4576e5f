"""The Approval aggregate's rules and the approval handlers on the in-memory persistence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from argon2 import PasswordHasher
from eventsourcing.persistence import DatetimeAsISO
from freezegun import freeze_time
from freezegun.api import FakeDatetime

from application.approval import ApprovalCommands, Voter
from application.approval_gate import ApprovalGate
from application.context import CommandContext
from application.credential import CredentialVault
from application.ledger import Ledger
from application.run_engine import RunEngine
from domain.approval import (
    AlreadyVoted,
    Approval,
    ApprovalDecided,
    ApprovalNotFound,
    NotAnApprover,
    SelfApproval,
)
from domain.error import InvalidValue
from tests.unit.engine_driver import Driver

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
REQUESTER, ALICE, BOB, CAROL = uuid4(), uuid4(), uuid4(), uuid4()
CTX = CommandContext(actor="user:test")


def request(**fields):
    return Approval.request(REQUESTER, "Deploy", now=NOW, **fields)


def test_a_single_reject_decides_even_before_the_quorum():
    approval = request(approver_user_ids=[ALICE, BOB], quorum=2)
    approval.vote(ALICE, "member", True, "", NOW)
    approval.vote(BOB, "member", False, "not today", NOW)
    assert (approval.status, approval.outcome) == ("rejected", "rejected")
    topics = [e.TOPIC for e in approval.collect_events()]
    assert topics[-1] == "approval.rejected" and topics.count("approval.vote_recorded") == 2


def test_the_quorum_of_distinct_approvals_decides():
    approval = request(approver_user_ids=[ALICE, BOB, CAROL], quorum=2)
    approval.vote(ALICE, "member", True, "ok", NOW)
    assert approval.status == "pending" and approval.approvals_count == 1
    approval.vote(BOB, "member", True, "", NOW)
    assert approval.status == "approved"
    decided = approval.collect_events()[-1]
    assert decided.TOPIC == "approval.approved" and decided.decided_by == [ALICE, BOB]


def test_the_requester_may_not_vote_unless_self_approval_is_allowed():
    with pytest.raises(SelfApproval):
        request().vote(REQUESTER, "member", True, "", NOW)
    allowed = request(allow_self_approval=True)
    allowed.vote(REQUESTER, "member", True, "", NOW)
    assert allowed.status == "approved"


def test_only_eligible_users_vote_and_viewers_never():
    by_user = request(approver_user_ids=[ALICE])
    with pytest.raises(NotAnApprover):
        by_user.vote(BOB, "member", True, "", NOW)
    with pytest.raises(NotAnApprover):
        request(approver_user_ids=[ALICE]).vote(ALICE, "viewer", True, "", NOW)
    by_role = request(approver_roles=["admin"])
    with pytest.raises(NotAnApprover):
        by_role.vote(BOB, "member", True, "", NOW)
    by_role.vote(BOB, "admin", True, "", NOW)
    assert by_role.status == "approved"
    anyone = request()
    with pytest.raises(NotAnApprover):
        anyone.vote(BOB, "viewer", True, "", NOW)
    anyone.vote(BOB, "member", True, "", NOW)
    assert anyone.status == "approved"


def test_a_second_vote_and_a_vote_on_a_decided_approval_are_conflicts():
    approval = request(approver_user_ids=[ALICE, BOB], quorum=2)
    approval.vote(ALICE, "member", True, "", NOW)
    with pytest.raises(AlreadyVoted):
        approval.vote(ALICE, "member", True, "", NOW)
    approval.vote(BOB, "member", False, "", NOW)
    with pytest.raises(ApprovalDecided):
        approval.vote(CAROL, "admin", True, "", NOW)


def test_past_its_expiry_no_vote_counts_even_before_the_timer_fired():
    approval = request(expires_at=NOW + timedelta(minutes=5))
    with pytest.raises(ApprovalDecided, match="expired"):
        approval.vote(ALICE, "member", True, "", NOW + timedelta(minutes=5))
    assert approval.expire() is True and approval.status == "expired"
    assert approval.outcome == "rejected"
    assert approval.expire() is False


def test_requests_are_checked():
    with pytest.raises(InvalidValue, match="quorum"):
        request(approver_user_ids=[ALICE], quorum=2)
    with pytest.raises(InvalidValue, match="approver_roles"):
        request(approver_roles=["viewer"])
    with pytest.raises(InvalidValue, match="expires_at"):
        request(expires_at=NOW - timedelta(seconds=1))
    with pytest.raises(InvalidValue, match="on_expiry"):
        request(on_expiry="maybe")
    with pytest.raises(InvalidValue, match=r"subject\.type"):
        request(subject={"type": "planet"})


def test_visibility_is_the_requester_the_approvers_and_admins():
    approval = request(approver_user_ids=[ALICE])
    assert approval.visible_to(REQUESTER, "member") and approval.visible_to(ALICE, "viewer")
    assert approval.visible_to(CAROL, "admin") and not approval.visible_to(BOB, "member")


class FrozenDatetimeAsISO(DatetimeAsISO):
    """freezegun's datetimes are stored like real ones."""

    type = FakeDatetime


@pytest.fixture
def ledger():
    built = Ledger(credentials=CredentialVault("secret", hasher=FAST))
    built.mapper.transcoder.register(FrozenDatetimeAsISO())  # type: ignore[attr-defined]
    yield built
    built.close()


def test_an_expiry_fires_once_on_its_timer_with_its_outcome(ledger):
    with freeze_time(NOW) as clock:
        commands = ledger[ApprovalCommands]
        fields = {"title": "Ship", "expires_in_seconds": 3600, "on_expiry": "approved"}
        approval_id = commands.request(CTX, REQUESTER, fields).aggregate.id
        driver = Driver(ledger, RunEngine(ledger), ApprovalGate(ledger))
        driver.settle()
        assert driver.fire_due(NOW + timedelta(minutes=59)) == []
        clock.move_to(NOW + timedelta(hours=1))
        assert driver.fire_due(NOW + timedelta(hours=1)) == [f"expire:{approval_id}"]
        assert driver.fire_due(NOW + timedelta(days=1)) == []
    expired = ledger.repository.get(approval_id)
    assert (expired.status, expired.outcome) == ("expired", "approved")
    assert driver.seen.count("approval.expired") == 1


def test_a_decided_approval_drops_its_expiry_timer(ledger):
    with freeze_time(NOW):
        commands = ledger[ApprovalCommands]
        fields = {"title": "Ship", "expires_in_seconds": 60, "approver_user_ids": [ALICE]}
        approval_id = commands.request(CTX, REQUESTER, fields).aggregate.id
        driver = Driver(ledger, RunEngine(ledger), ApprovalGate(ledger))
        driver.settle()
        commands.vote(CTX, Voter(ALICE, "member"), approval_id, True, "fine")
        driver.settle()
    assert driver.timers == {}
    assert ledger.repository.get(approval_id).status == "approved"


def test_an_expiry_is_given_one_way_only(ledger):
    fields = {"title": "Ship", "expires_in_seconds": 60, "expires_at": NOW + timedelta(days=1)}
    with pytest.raises(InvalidValue, match="expires_in_seconds"):
        ledger[ApprovalCommands].request(CTX, REQUESTER, fields)


def test_others_get_not_found_from_the_handlers(ledger):
    commands = ledger[ApprovalCommands]
    fields = {"title": "Ship", "approver_user_ids": [ALICE]}
    approval_id = commands.request(CTX, REQUESTER, fields).aggregate.id
    with pytest.raises(ApprovalNotFound):
        commands.vote(CTX, Voter(BOB, "member"), approval_id, True, "")
    assert commands.get(Voter(CAROL, "admin"), approval_id).id == approval_id
