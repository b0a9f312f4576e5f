"""Votes on a run's waiting approval step: /api/v1/runs/{run_id}/approve|reject (CONTRACT A15,
A16; flow8's ``POST /api/plays/:id/approve`` runs the same vote)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from application.approval import ApprovalCommands, Voter
from interfaces.api.deps import CommandDep
from interfaces.api.errors import AUTHED, CONFLICT, FORBIDDEN, NOT_FOUND
from interfaces.api.schemas_approvals import RunApprovalOut, RunDecisionIn

router = APIRouter(prefix="/api/v1/runs", tags=["runs"])
ERRORS: dict[int | str, dict[str, Any]] = {**AUTHED, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT}


async def vote_on_run(
    command: CommandDep, run_id: UUID, approve: bool, body: RunDecisionIn | None
) -> RunApprovalOut:
    """Vote on the run's waiting approval (the one of ``step_id`` when several wait)."""
    body = body or RunDecisionIn()
    voter = Voter(command.user_id, command.writer.role)
    vote = command.ledger[ApprovalCommands].vote_on_run
    done = await run_in_threadpool(
        vote, command.context, voter, run_id, body.step_id, approve, body.comment
    )
    await command.consistency.wrote_async(command.user_id, done.written.position)
    return RunApprovalOut(
        run_id=done.run_id,
        step_id=done.step_id,
        approval_id=done.written.aggregate.id,
        approval_status=done.written.aggregate.status,
        position=done.written.position,
    )


@router.post("/{run_id}/approve", response_model=RunApprovalOut, responses=ERRORS)
async def approve_run_step(
    run_id: UUID, command: CommandDep, body: RunDecisionIn | None = None
) -> RunApprovalOut:
    """Approve the run's waiting approval step (the quorum may need more votes; then the run
    goes on). 409 NO_PENDING_APPROVAL, 409 AMBIGUOUS_APPROVAL (several wait: give step_id),
    403 NOT_AN_APPROVER / SELF_APPROVAL, 409 ALREADY_VOTED."""
    return await vote_on_run(command, run_id, True, body)


@router.post("/{run_id}/reject", response_model=RunApprovalOut, responses=ERRORS)
async def reject_run_step(
    run_id: UUID, command: CommandDep, body: RunDecisionIn | None = None
) -> RunApprovalOut:
    """Reject the run's waiting approval step: the step fails, and the run with it unless the
    step continues on failure. Errors as approve."""
    return await vote_on_run(command, run_id, False, body)
