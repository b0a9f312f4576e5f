"""Approval commands: request, vote (approve or reject), expire, cancel; and the vote on a run's
waiting approval step (``/api/v1/runs/{run_id}/approve|reject``, flow8's play approve)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from application.context import CommandContext
from application.handlers import Handlers
from application.result import Written
from domain.approval import (
    AmbiguousApproval,
    Approval,
    ApprovalNotFound,
    NoPendingApproval,
)
from domain.error import InvalidValue
from domain.run import Run, RunNotFound

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Voter:
    """Who votes: a user and their role."""

    user_id: UUID
    role: str


@dataclass(frozen=True)
class StepVote:
    """The answer of a vote on a run's approval step."""

    run_id: UUID
    step_id: UUID
    written: Written[Approval]


class ApprovalCommands(Handlers):
    """The handlers of the approvals feature."""

    def __init__(self, ledger: Any, clock: Clock = lambda: datetime.now(UTC)) -> None:
        super().__init__(ledger)
        self.clock = clock

    def request(
        self, context: CommandContext, requested_by: UUID, fields: Mapping[str, Any]
    ) -> Written[Approval]:
        """Request an approval (``expires_in_seconds`` or ``expires_at`` set its expiry)."""
        values = dict(fields)
        now = self.clock()
        seconds = values.pop("expires_in_seconds", None)
        if seconds is not None and values.get("expires_at") is not None:
            raise InvalidValue("expires_in_seconds", "give expires_at or expires_in_seconds")
        if seconds is not None:
            values["expires_at"] = now + timedelta(seconds=seconds)
        approval = Approval.request(requested_by, values.pop("title"), now=now, **values)
        return Written(approval, self._commit(context, approval))

    def get(self, voter: Voter, approval_id: UUID) -> Approval:
        """An approval the user may see (404 for anyone else)."""
        approval = self._load(Approval, approval_id, ApprovalNotFound)
        if not approval.visible_to(voter.user_id, voter.role):
            raise ApprovalNotFound(approval_id)
        return approval

    def vote(
        self,
        context: CommandContext,
        voter: Voter,
        approval_id: UUID,
        approve: bool,
        comment: str = "",
    ) -> Written[Approval]:
        """Approve or reject (with a comment); the rules are the aggregate's."""
        return self._change(
            context,
            lambda: self.get(voter, approval_id),
            approval_id,
            None,
            lambda a: a.vote(voter.user_id, voter.role, approve, comment, self.clock()),
        )

    def expire(self, context: CommandContext, approval_id: UUID) -> Written[Approval]:
        """The expiry timer fired (a decided approval stays as it is)."""
        return self._change(
            context,
            lambda: self._load(Approval, approval_id, ApprovalNotFound),
            approval_id,
            None,
            Approval.expire,
        )

    def cancel(self, context: CommandContext, approval_id: UUID, reason: str) -> None:
        """Cancel a pending approval (the run it gates ended)."""
        self._change(
            context,
            lambda: self._load(Approval, approval_id, ApprovalNotFound),
            approval_id,
            None,
            lambda a: a.cancel(reason),
        )

    def vote_on_run(
        self,
        context: CommandContext,
        voter: Voter,
        run_id: UUID,
        step_id: UUID | None,
        approve: bool,
        comment: str = "",
    ) -> StepVote:
        """Vote on the approval a run's approval step waits for (name the step when several
        wait). The run's owner and the approval's approvers may; anyone else gets 404."""
        run = self._load(Run, run_id, RunNotFound)
        waiting = waiting_approvals(run)
        opened = [s["approval_id"] for s in run.state.values() if s.get("approval_id")]
        visible = run.visible_to(voter.user_id) or any(
            self._visible(UUID(str(approval_id)), voter) for approval_id in opened
        )
        if not visible:
            raise RunNotFound(run_id)
        if step_id is not None:
            waiting = {k: v for k, v in waiting.items() if k == step_id}
        if not waiting:
            raise NoPendingApproval(f"Run {run_id} has no approval step waiting")
        if len(waiting) > 1:
            steps = ", ".join(sorted(str(s) for s in waiting))
            raise AmbiguousApproval(f"Several approval steps wait ({steps}): give a step_id")
        ((found_step, approval_id),) = waiting.items()
        written = self.vote(context, voter, approval_id, approve, comment)
        return StepVote(run_id, found_step, written)

    def _visible(self, approval_id: UUID, voter: Voter) -> bool:
        try:
            self.get(voter, approval_id)
        except ApprovalNotFound:
            return False
        return True


def waiting_approvals(run: Run) -> dict[UUID, UUID]:
    """The run's approval steps that wait, step id -> approval id."""
    found: dict[UUID, UUID] = {}
    if run.finished:
        return found
    for step in run.steps:
        state = run.step_state(step["step_id"])
        if step["type"] == "approval" and state["status"] == "waiting":
            approval_id = state.get("approval_id")
            if approval_id:
                found[UUID(str(step["step_id"]))] = UUID(str(approval_id))
    return found
