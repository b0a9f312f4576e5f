"""flow8's ``POST /api/plays/:id/approve`` (004:L94). The other play paths are aliases of the
runs routes (``interfaces/features/flows.py``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from application.flow import FlowCommands
from domain.error import Conflict
from domain.run import RunNotFound
from interfaces.api.deps import (
    LedgerDep,
    Writer,
)
from interfaces.api.errors import AUTHED, CONFLICT, NOT_FOUND
from interfaces.api.seed_presenter import Flow8Route, seed_uuid

router = APIRouter(prefix="/api/plays", tags=["seed aliases: flow8"], route_class=Flow8Route)


class NoPendingApproval(Conflict):
    """The run has no approval step waiting."""


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
