"""The Approval aggregate: a human decision, standalone (002's approval requests) or gating a
step of a run (flow8's "approve a pending step").

Rules (shared/CONTRACT.md A.8): any single reject decides; ``quorum`` distinct approvals decide;
the requester may not vote unless ``allow_self_approval``; only eligible users vote (the listed
users, the listed roles, or with none listed any member or admin), viewers never; one vote per
user; no vote once decided, expired or cancelled. Expiry is a durable timer of the approvals
reactor; its outcome (``on_expiry``) is what a gated step makes of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.error import Conflict, Forbidden, InvalidValue, NotFound
from domain.flow_step import DELAY_MAX, InvalidStepConfig, number
from domain.value import bounded_text

TITLE_MAX = 200
TEXT_MAX = 5000
COMMENT_MAX = 2000
APPROVERS_MAX = 100
QUORUM_MAX = 100
EXPIRY_MAX = timedelta(days=30)
ROLES = ("admin", "member")
OUTCOMES = ("rejected", "approved")
SUBJECT_TYPES = ("custom", "task", "run_step")


class ApprovalStatus(StrEnum):
    """Where an approval stands (CONTRACT 2.5)."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class ApprovalNotFound(NotFound):
    """No such approval, or not one the actor may see."""

    kind = "approval"
    code = "APPROVAL_NOT_FOUND"


class ApprovalDecided(Conflict):
    """The approval is no longer pending (decided, expired or cancelled)."""

    code = "APPROVAL_DECIDED"

    def __init__(self, status: str) -> None:
        super().__init__(f"The approval is already {status}")


class AlreadyVoted(Conflict):
    """This user has voted on the approval already."""

    code = "ALREADY_VOTED"

    def __init__(self) -> None:
        super().__init__("You have already voted on this approval")


class SelfApproval(Forbidden):
    """The requester may not vote on their own approval (unless it allows self-approval)."""

    code = "SELF_APPROVAL"

    def __init__(self) -> None:
        super().__init__("The requester may not vote on their own approval")


class NotAnApprover(Forbidden):
    """The user is not one of the approval's eligible approvers."""

    code = "NOT_AN_APPROVER"

    def __init__(self) -> None:
        super().__init__("You are not an eligible approver of this approval")


class NoPendingApproval(Conflict):
    """The run has no approval step waiting (for that step)."""

    code = "NO_PENDING_APPROVAL"


class AmbiguousApproval(Conflict):
    """Several approval steps of the run wait: the caller must name one (``step_id``)."""

    code = "AMBIGUOUS_APPROVAL"


def step_approval_id(run_id: UUID, step_id: UUID, attempt: int) -> UUID:
    """The id of the approval an attempt of a run's approval step opens (the same on a replay)."""
    return uuid5(run_id, f"approval:{step_id}:{attempt}")


def check_approval_step(config: Mapping[str, Any], agent_id: UUID | None = None) -> None:
    """A flow's ``approval`` step: its quorum, expiry and what an expiry decides."""
    number(config, "quorum", 1, 100)
    number(config, "expires_in_seconds", 1, DELAY_MAX)
    if config.get("on_expiry", "rejected") not in ("rejected", "approved"):
        raise InvalidStepConfig("config.on_expiry", "must be rejected or approved")


def checked_subject(subject: Mapping[str, Any] | None) -> dict[str, Any]:
    """The subject of an approval: ``{type, id?, run_id?, step_id?}`` (``custom`` by default)."""
    found = dict(subject or {})
    kind = found.get("type", "custom")
    if kind not in SUBJECT_TYPES:
        raise InvalidValue("subject.type", f"must be one of: {', '.join(SUBJECT_TYPES)}")
    out: dict[str, Any] = {"type": kind}
    for key in ("id", "run_id", "step_id"):
        if found.get(key) is not None:
            out[key] = str(found[key])[:100]
    if "attempt" in found:
        out["attempt"] = int(found["attempt"])
    return out


def _roles(roles: Iterable[str]) -> list[str]:
    found = sorted(set(roles))
    for role in found:
        if role not in ROLES:
            raise InvalidValue("approver_roles", "must be admin or member (viewers never approve)")
    return found


class Approval(Aggregate):
    """A request for a decision by eligible approvers."""

    TOPIC = "approval"

    class Created(Aggregate.Created):
        TOPIC = "approval.requested"
        requested_by: UUID
        title: str
        description: str
        subject: dict[str, Any]
        approver_user_ids: list[UUID]
        approver_roles: list[str]
        quorum: int
        allow_self_approval: bool
        expires_at: datetime | None
        on_expiry: str
        payload: dict[str, Any]

    class VoteRecorded(Aggregate.Event):
        TOPIC = "approval.vote_recorded"
        user_id: UUID
        decision: str  # approve | reject
        comment: str

    class Approved(Aggregate.Event):
        TOPIC = "approval.approved"
        decided_by: list[UUID]

    class Rejected(Aggregate.Event):
        TOPIC = "approval.rejected"
        decided_by: UUID
        comment: str

    class Expired(Aggregate.Event):
        TOPIC = "approval.expired"
        outcome: str  # what on_expiry made of it: rejected | approved

    class Cancelled(Aggregate.Event):
        TOPIC = "approval.cancelled"
        reason: str

    @event(Created)
    def __init__(
        self,
        requested_by: UUID,
        title: str,
        description: str,
        subject: dict[str, Any],
        approver_user_ids: list[UUID],
        approver_roles: list[str],
        quorum: int,
        allow_self_approval: bool,
        expires_at: datetime | None,
        on_expiry: str,
        payload: dict[str, Any],
    ) -> None:
        self.requested_by = requested_by
        self.title = title
        self.description = description
        self.subject = subject
        self.approver_user_ids = list(approver_user_ids)
        self.approver_roles = list(approver_roles)
        self.quorum = quorum
        self.allow_self_approval = allow_self_approval
        self.expires_at = expires_at
        self.on_expiry = on_expiry
        self.payload = payload
        self.status = ApprovalStatus.PENDING.value
        self.outcome: str | None = None
        self.votes: list[dict[str, Any]] = []

    @classmethod
    def request(
        cls,
        requested_by: UUID,
        title: str,
        *,
        now: datetime,
        description: str = "",
        subject: Mapping[str, Any] | None = None,
        approver_user_ids: Iterable[UUID] = (),
        approver_roles: Iterable[str] = (),
        quorum: int = 1,
        allow_self_approval: bool = False,
        expires_at: datetime | None = None,
        on_expiry: str = "rejected",
        payload: Mapping[str, Any] | None = None,
        approval_id: UUID | None = None,
    ) -> Approval:
        """A pending approval; every field checked."""
        users = list(dict.fromkeys(approver_user_ids))
        if len(users) > APPROVERS_MAX:
            raise InvalidValue("approver_user_ids", f"must list at most {APPROVERS_MAX} users")
        if not isinstance(quorum, int) or not 1 <= quorum <= QUORUM_MAX:
            raise InvalidValue("quorum", f"must be a whole number from 1 to {QUORUM_MAX}")
        if users and not approver_roles and quorum > len(users):
            raise InvalidValue("quorum", "must not exceed the number of approvers listed")
        if on_expiry not in OUTCOMES:
            raise InvalidValue("on_expiry", "must be rejected or approved")
        if expires_at is not None and not now < expires_at <= now + EXPIRY_MAX:
            raise InvalidValue("expires_at", "must be in the future, at most 30 days ahead")
        fields: dict[str, Any] = {
            "requested_by": requested_by,
            "title": bounded_text("title", title, max_length=TITLE_MAX),
            "description": bounded_text(
                "description", description, max_length=TEXT_MAX, required=False
            ),
            "subject": checked_subject(subject),
            "approver_user_ids": users,
            "approver_roles": _roles(approver_roles),
            "quorum": quorum,
            "allow_self_approval": bool(allow_self_approval),
            "expires_at": expires_at,
            "on_expiry": on_expiry,
            "payload": dict(payload or {}),
        }
        if approval_id is not None:
            return cls._create(cls.Created, id=approval_id, **fields)
        return cls(**fields)

    # --- reading -------------------------------------------------------------------------

    @property
    def pending(self) -> bool:
        """True until the approval is decided, expired or cancelled."""
        return self.status == ApprovalStatus.PENDING.value

    def eligible(self, user_id: UUID, role: str) -> bool:
        """Whether ``user_id`` (with ``role``) is one of the approvers (the requester aside)."""
        if role not in ROLES:
            return False  # viewers never approve
        if not self.approver_user_ids and not self.approver_roles:
            return True
        return user_id in self.approver_user_ids or role in self.approver_roles

    def visible_to(self, user_id: UUID, role: str) -> bool:
        """The requester, the eligible approvers (listed viewers too) and admins see it."""
        return (
            user_id == self.requested_by
            or role == "admin"
            or user_id in self.approver_user_ids
            or self.eligible(user_id, role)
        )

    def voted(self, user_id: UUID) -> bool:
        """Whether ``user_id`` has voted."""
        return any(v["user_id"] == user_id for v in self.votes)

    def expired_at(self, now: datetime) -> bool:
        """True when the approval's expiry has passed (even before its timer fired)."""
        return self.expires_at is not None and now >= self.expires_at

    # --- commands ------------------------------------------------------------------------

    def vote(self, user_id: UUID, role: str, approve: bool, comment: str, now: datetime) -> None:
        """Record a vote; a reject decides, the quorum-th approval decides."""
        if not self.pending:
            raise ApprovalDecided(self.status)
        if self.expired_at(now):
            raise ApprovalDecided(ApprovalStatus.EXPIRED.value)
        if user_id == self.requested_by and not self.allow_self_approval:
            raise SelfApproval()
        if not self.eligible(user_id, role):
            raise NotAnApprover()
        if self.voted(user_id):
            raise AlreadyVoted()
        text = bounded_text("comment", comment, max_length=COMMENT_MAX, required=False)
        decision = "approve" if approve else "reject"
        self._record_vote(user_id=user_id, decision=decision, comment=text)
        if not approve:
            self._reject(decided_by=user_id, comment=text)
        elif self.approvals_count >= self.quorum:
            self._approve(decided_by=[v["user_id"] for v in self.votes])

    @property
    def approvals_count(self) -> int:
        """How many distinct approvals are recorded."""
        return sum(1 for v in self.votes if v["decision"] == "approve")

    def expire(self) -> bool:
        """The expiry timer fired: a pending approval expires with its ``on_expiry`` outcome
        (False when it was decided first)."""
        if not self.pending:
            return False
        self._expire(outcome=self.on_expiry)
        return True

    def cancel(self, reason: str) -> bool:
        """Cancel a pending approval (its run ended); False when it no longer was pending."""
        if not self.pending:
            return False
        self._cancel(reason=reason[:500])
        return True

    # --- mutators: assign only -----------------------------------------------------------

    @event(VoteRecorded)
    def _record_vote(self, user_id: UUID, decision: str, comment: str) -> None:
        self.votes.append({"user_id": user_id, "decision": decision, "comment": comment})

    @event(Approved)
    def _approve(self, decided_by: list[UUID]) -> None:
        self.status = ApprovalStatus.APPROVED.value
        self.outcome = "approved"

    @event(Rejected)
    def _reject(self, decided_by: UUID, comment: str) -> None:
        self.status = ApprovalStatus.REJECTED.value
        self.outcome = "rejected"

    @event(Expired)
    def _expire(self, outcome: str) -> None:
        self.status = ApprovalStatus.EXPIRED.value
        self.outcome = outcome

    @event(Cancelled)
    def _cancel(self, reason: str) -> None:
        self.status = ApprovalStatus.CANCELLED.value
