"""flow8's plays (runs) at /api/plays (004:L91-95); ``DELETE /api/plays/:id`` cancels."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response

from domain.run import RunNotFound
from interfaces.api.deps import (
    CommandDep,
    ConsistencyDep,
    Context,
    CurrentUserId,
    LedgerDep,
    Paging,
    Writer,
)
from interfaces.api.errors import AUTHED, CONFLICT, FORBIDDEN, NOT_FOUND
from interfaces.api.read_wait import settled
from interfaces.api.routes import runs
from interfaces.api.routes.run_approvals import vote_on_run
from interfaces.api.routes.runs import RunsDep
from interfaces.api.schemas_approvals import RunDecisionIn
from interfaces.api.seed_presenter import Flow8Route, Page, Size, flow8_page, seed_uuid, with_id
from projections.run import RunQueries

router = APIRouter(prefix="/api/plays", tags=["seed aliases: flow8"], route_class=Flow8Route)


@router.get("", responses=AUTHED)
def list_plays(
    user_id: CurrentUserId,
    found: RunsDep,
    _: Annotated[None, settled(RunQueries)],
    page: Page = 0,
    size: Size = 25,
) -> dict[str, Any]:
    """flow8's play list, zero-based pages."""
    listed = runs.list_runs(user_id, found, None, Paging(size, page * size))
    return flow8_page([with_id(r, "run_id") for r in listed.runs], listed.total, page, size)


@router.get("/{id}", responses={**AUTHED, 404: NOT_FOUND})
def get_play(
    id: str,
    user_id: CurrentUserId,
    found: RunsDep,
    _: Annotated[None, settled(RunQueries)],
    response: Response,
) -> dict[str, Any]:
    """flow8's play detail, with its layers' state."""
    run_id = seed_uuid(id, RunNotFound)
    return with_id(runs.get_run(run_id, user_id, found, None, response), "run_id")


@router.get("/{id}/layers", responses={**AUTHED, 404: NOT_FOUND})
def list_play_layers(
    id: str,
    user_id: CurrentUserId,
    found: RunsDep,
    _: Annotated[None, settled(RunQueries)],
    page: Page = 0,
    size: Size = 25,
) -> dict[str, Any]:
    """flow8's play layer results (each step's status, result and error)."""
    run = runs.get_run(seed_uuid(id, RunNotFound), user_id, found, None, Response())
    steps = run.steps or []
    shown = [with_id(s, "step_id") for s in steps[page * size : (page + 1) * size]]
    return flow8_page(shown, len(steps), page, size)


@router.post("/{id}/approve", responses={**AUTHED, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT})
async def approve_play(
    id: str, command: CommandDep, body: RunDecisionIn | None = None
) -> dict[str, Any]:
    """flow8's approve a pending step: a vote on the play's waiting approval step (``step_id``
    when several wait, 409 AMBIGUOUS_APPROVAL otherwise; 409 NO_PENDING_APPROVAL when none)."""
    voted = await vote_on_run(command, seed_uuid(id, RunNotFound), True, body)
    return with_id(voted, "run_id")


@router.delete("/{id}", responses={**AUTHED, 404: NOT_FOUND, 409: CONFLICT})
async def cancel_play(
    id: str,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    found: RunsDep,
    consistency: ConsistencyDep,
    response: Response,
) -> dict[str, Any]:
    """flow8's cancel a running play: the play stays readable, now cancelled."""
    run_id = seed_uuid(id, RunNotFound)
    cancelled = await runs.cancel_run(run_id, app, context, writer, found, consistency, response)
    return with_id(cancelled, "run_id")
