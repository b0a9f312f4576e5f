"""flow8's plays (runs) at /api/plays (004:L91-95); ``DELETE /api/plays/:id`` cancels."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response

from application.flow import FlowCommands
from domain.error import Conflict
from domain.run import RunNotFound
from interfaces.api.deps import (
    ConsistencyDep,
    Context,
    CurrentUserId,
    LedgerDep,
    Paging,
    Writer,
)
from interfaces.api.errors import AUTHED, CONFLICT, NOT_FOUND
from interfaces.api.read_wait import settled
from interfaces.api.routes import runs
from interfaces.api.routes.runs import RunsDep
from interfaces.api.seed_presenter import Flow8Route, Page, Size, flow8_page, seed_uuid, with_id
from projections.run import RunQueries

router = APIRouter(prefix="/api/plays", tags=["seed aliases: flow8"], route_class=Flow8Route)


class NoPendingApproval(Conflict):
    """The run has no approval step waiting."""


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


@router.post("/{id}/approve", responses={**AUTHED, 404: NOT_FOUND, 409: CONFLICT})
def approve_play(
    id: str,
    app: LedgerDep,
    writer: Writer,
) -> dict[str, Any]:
    """flow8's approve a pending step: 409 NO_PENDING_APPROVAL while no approval step waits
    (approval steps are wired by the approvals feature)."""
    run = app[FlowCommands].get_run(writer.user_id, seed_uuid(id, RunNotFound))
    raise NoPendingApproval(f"Run {run.id} has no approval step waiting")


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
