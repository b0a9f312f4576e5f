"""Approvals: /api/v1/approvals (002's request, list, get, approve, reject; CONTRACT A32-A36)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status
from starlette.concurrency import run_in_threadpool

from application.approval import ApprovalCommands, Voter
from domain.approval import ApprovalNotFound
from interfaces.api.approval_view import approval_out, visible
from interfaces.api.consistency import POSITION_HEADER
from interfaces.api.deps import CommandDep, CurrentPrincipal, PagingDep, queries
from interfaces.api.errors import AUTHED, CONFLICT, FORBIDDEN, NOT_FOUND
from interfaces.api.read_wait import settled
from interfaces.api.schemas import page_fields
from interfaces.api.schemas_approvals import ApprovalIn, ApprovalListOut, ApprovalOut, DecisionIn
from projections.approval import ApprovalQueries

router = APIRouter(prefix="/api/v1/approvals", tags=["approvals"])
ApprovalsDep = Annotated[ApprovalQueries, Depends(queries(ApprovalQueries))]
VOTE_ERRORS: dict[int | str, dict[str, Any]] = {
    **AUTHED,
    403: FORBIDDEN,
    404: NOT_FOUND,
    409: CONFLICT,
}
Status = Literal["pending", "approved", "rejected", "expired", "cancelled", "all"]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ApprovalOut,
    responses={**AUTHED, 403: FORBIDDEN},
)
async def request_approval(
    body: ApprovalIn, command: CommandDep, approvals: ApprovalsDep, response: Response
) -> ApprovalOut:
    """Request a decision from eligible approvers (viewers may not request)."""
    fields = body.model_dump()
    fields["subject"] = body.subject.model_dump(exclude_none=True) if body.subject else None
    request = command.ledger[ApprovalCommands].request
    written = await run_in_threadpool(request, command.context, command.user_id, fields)
    return await _answer(command, approvals, written.aggregate.id, written.position, response)


@router.get("", response_model=ApprovalListOut, responses=AUTHED)
def list_approvals(
    principal: CurrentPrincipal,
    approvals: ApprovalsDep,
    _: Annotated[None, settled(ApprovalQueries)],
    paging: PagingDep,
    status: Status = "pending",
    mine: Literal["requested", "to_decide"] | None = None,
    subject_type: Literal["custom", "task", "run_step"] | None = None,
    run_id: UUID | None = None,
) -> ApprovalListOut:
    """Approvals you may see, newest first: pending by default (``status=all`` for every one);
    ``mine=requested`` yours, ``mine=to_decide`` those awaiting your vote."""
    filters = {
        "status": None if status == "all" else status,
        "mine": mine,
        "subject_type": subject_type,
        "run_id": run_id,
    }
    rows, total = approvals.list(
        principal.user_id, principal.role, filters, paging.limit, paging.offset
    )
    shown = [approval_out(row) for row in rows]
    return ApprovalListOut(
        approvals=shown, **page_fields(total, paging.limit, paging.offset, len(shown))
    )


@router.get("/{approval_id}", response_model=ApprovalOut, responses={**AUTHED, 404: NOT_FOUND})
def get_approval(
    approval_id: UUID,
    principal: CurrentPrincipal,
    approvals: ApprovalsDep,
    _: Annotated[None, settled(ApprovalQueries)],
    response: Response,
) -> ApprovalOut:
    """One approval with its votes (404 unless you requested it, may vote on it, or are an
    admin)."""
    row = approvals.get(approval_id)
    if row is None or not visible(row, principal):
        raise ApprovalNotFound(approval_id)
    response.headers["ETag"] = f'"{row["version"]}"'
    return approval_out(row)


@router.post("/{approval_id}/approve", response_model=ApprovalOut, responses=VOTE_ERRORS)
async def approve(
    approval_id: UUID,
    command: CommandDep,
    approvals: ApprovalsDep,
    response: Response,
    body: DecisionIn | None = None,
) -> ApprovalOut:
    """Approve: the quorum-th distinct approval decides. 403 SELF_APPROVAL (the requester),
    403 NOT_AN_APPROVER, 409 ALREADY_VOTED, 409 APPROVAL_DECIDED (decided or expired)."""
    return await _vote(command, approvals, approval_id, True, body, response)


@router.post("/{approval_id}/reject", response_model=ApprovalOut, responses=VOTE_ERRORS)
async def reject(
    approval_id: UUID,
    command: CommandDep,
    approvals: ApprovalsDep,
    response: Response,
    body: DecisionIn | None = None,
) -> ApprovalOut:
    """Reject with a comment (``reason`` accepted): any reject decides. Errors as approve."""
    return await _vote(command, approvals, approval_id, False, body, response)


async def _vote(
    command: CommandDep,
    approvals: ApprovalQueries,
    approval_id: UUID,
    approve_it: bool,
    body: DecisionIn | None,
    response: Response,
) -> ApprovalOut:
    voter = Voter(command.user_id, command.writer.role)
    comment = body.comment if body is not None else ""
    vote = command.ledger[ApprovalCommands].vote
    written = await run_in_threadpool(
        vote, command.context, voter, approval_id, approve_it, comment
    )
    return await _answer(command, approvals, approval_id, written.position, response)


async def _answer(
    command: CommandDep,
    approvals: ApprovalQueries,
    approval_id: UUID,
    position: int,
    response: Response,
) -> ApprovalOut:
    """The approval as the read model has it once it has the write."""
    await command.consistency.wrote_async(command.user_id, position)
    await command.consistency.settle_async(approvals.name, command.user_id, position or None)
    row = await run_in_threadpool(approvals.get, approval_id)
    if row is None:
        raise ApprovalNotFound(approval_id)
    response.headers[POSITION_HEADER] = str(position)
    response.headers["ETag"] = f'"{row["version"]}"'
    return approval_out(row, position)
