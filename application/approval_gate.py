"""Approvals in runs, and their expiry: the ``approval`` step type and the approvals reactor.

- ``ApprovalStep`` (the ``approval`` step type, ``APPROVAL_STEP``) opens an approval for the
  step's attempt, id ``uuid5(run_id, "approval:<step_id>:<attempt>")`` (once, even on a
  replay), and the step waits.
- ``ApprovalGate`` schedules each approval's expiry on a durable timer (fired once by the active
  instance; expiring a decided approval records nothing), moves the gated step when the approval
  is decided however it was decided (``/api/v1/approvals/{id}/approve``, the run's own
  ``approve``/``reject``, flow8's play approve, or its expiry), and cancels the approvals of
  steps a run stopped when it failed or was cancelled.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any
from uuid import UUID

from application.approval import ApprovalCommands
from application.context import CommandContext
from application.error import ConcurrentChange
from application.reactor import Reaction, Reactor, Timer, reacts_to
from application.step_types import Outcome, StepKind, StepStart
from domain.approval import Approval, ApprovalNotFound, check_approval_step, step_approval_id
from domain.run import Run, RunNotFound

ACTOR = "system:approvals"


class ApprovalStep:
    """The executor of ``approval`` steps: open the approval, wait for its decision."""

    def start(self, start: StepStart) -> Outcome:
        """Request the approval (once) on behalf of the run's owner."""
        run, config, step = start.run, start.config, start.step
        step_id = UUID(str(step["step_id"]))
        approval_id = step_approval_id(run.id, step_id, start.attempt)
        seconds = config.get("expires_in_seconds")
        approval = Approval.request(
            run.owner_id,
            str(config.get("title") or step["name"]),
            now=start.at,
            description=str(config.get("description") or ""),
            subject={
                "type": "run_step",
                "run_id": run.id,
                "step_id": step_id,
                "attempt": start.attempt,
            },
            approver_user_ids=[UUID(str(u)) for u in config.get("approver_user_ids") or []],
            approver_roles=[str(r) for r in config.get("approver_roles") or []],
            quorum=int(config.get("quorum", 1)),
            allow_self_approval=bool(config.get("allow_self_approval", False)),
            expires_at=start.at + timedelta(seconds=float(seconds)) if seconds else None,
            on_expiry=str(config.get("on_expiry", "rejected")),
            payload={"flow_id": str(run.flow_id), "flow_name": run.flow_name},
            approval_id=approval_id,
        )
        start.reaction.commit_once(approval)
        return Outcome("waiting", detail={"approval_id": str(approval_id)})


def step_result(event: Any, approval: Approval) -> tuple[bool, dict[str, Any], str]:
    """Whether the gated step succeeds, its result, and its error when it does not."""
    result: dict[str, Any] = {"approval_id": str(approval.id), "decision": approval.outcome}
    if isinstance(event, Approval.Rejected):
        result |= {"decided_by": [str(event.decided_by)], "comment": event.comment}
        error = f"rejected by user {event.decided_by}"
        return False, result, error + (f": {event.comment}" if event.comment else "")
    if isinstance(event, Approval.Approved):
        votes = approval.votes
        comment = next((v["comment"] for v in reversed(votes) if v["comment"]), "")
        result |= {"decided_by": [str(u) for u in event.decided_by], "comment": comment}
        return True, result, ""
    result |= {"decided_by": [], "comment": "", "expired": True}
    return event.outcome == "approved", result, f"the approval expired ({event.outcome})"


# The approvals feature's step type (interfaces/features/approvals.py declares it).
APPROVAL_STEP = StepKind("approval", check_approval_step, lambda commands: ApprovalStep())


class ApprovalGate(Reactor):
    """Expires approvals on time and moves the run steps they gate."""

    name = "approvals"

    @property
    def commands(self) -> ApprovalCommands:
        """The approvals' handlers (their clock too)."""
        return self.ledger[ApprovalCommands]

    @reacts_to(Approval.Created)
    def when_approval_requested_schedule_expiry(self, event: Any, reaction: Reaction) -> None:
        """An approval with an expiry gets a durable timer at that time."""
        if event.expires_at is not None:
            approval_id = str(event.originator_id)
            reaction.schedule(
                f"expire:{approval_id}",
                event.expires_at,
                approval_id=approval_id,
                correlation_id=reaction.context.correlation_id,
            )

    @reacts_to(Approval.Approved, Approval.Rejected, Approval.Expired)
    def when_approval_decided_resume_run(self, event: Any, reaction: Reaction) -> None:
        """A decided approval that gates a run step finishes that step (the run goes on, or
        fails); its expiry timer is dropped."""
        reaction.cancel(f"expire:{event.originator_id}")
        approval: Approval = self.ledger.load(Approval, event.originator_id, ApprovalNotFound)
        subject = approval.subject
        if subject.get("type") != "run_step":
            return
        run_id, step_id = UUID(subject["run_id"]), UUID(subject["step_id"])
        attempt = int(subject.get("attempt", 1))
        succeeded, result, error = step_result(event, approval)

        def finish(run: Run) -> None:
            if succeeded:
                run.succeed_step(step_id, attempt, result)
            else:
                run.fail_step(step_id, attempt, error)

        with contextlib.suppress(RunNotFound):
            self.ledger.change(
                reaction.context,
                lambda: self.ledger.load(Run, run_id, RunNotFound),
                run_id,
                None,
                finish,
            )

    @reacts_to(Run.Cancelled, Run.Failed)
    def when_run_ended_cancel_approvals(self, event: Any, reaction: Reaction) -> None:
        """The approvals of approval steps a run stopped are cancelled."""
        run: Run = self.ledger.load(Run, event.originator_id, RunNotFound)
        for step_id in event.cancelled_steps:
            state = run.step_state(step_id)
            if state.get("approval_id"):
                with contextlib.suppress(ApprovalNotFound, ConcurrentChange):
                    self.commands.cancel(
                        reaction.context, UUID(str(state["approval_id"])), f"run {run.status}"
                    )

    def on_timer(self, timer: Timer, reaction: Reaction) -> None:
        """An approval's expiry is due: it expires unless it was decided first."""
        p = timer.payload
        context = CommandContext(
            actor=ACTOR, correlation_id=str(p["correlation_id"]), causation_id=reaction.cause
        )
        with contextlib.suppress(ApprovalNotFound):
            self.commands.expire(context, UUID(p["approval_id"]))
