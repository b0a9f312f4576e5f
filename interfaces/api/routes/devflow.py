"""DevFlow's ``POST /api/workflows/execute`` (``003``, CONTRACT A.5): seed-native, no canonical
twin, so a route with DevFlow's error bodies. DevFlow's other paths (agents, commands, heartbeat,
task reports) are aliases of the canonical routes (``interfaces/features/agents.py``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status

from interfaces.api import task_reports
from interfaces.api.agent_auth import CallerDep
from interfaces.api.agent_schemas import ExecuteIn
from interfaces.api.devflow import DevFlowRoute
from interfaces.api.errors import AUTHED, CONFLICT, NOT_FOUND

router = APIRouter(prefix="/api", tags=["devflow"], route_class=DevFlowRoute)
ERRORS: dict[int | str, dict[str, Any]] = {
    **AUTHED,
    400: {"description": "Bad input"},
    404: NOT_FOUND,
    409: CONFLICT,
}


@router.post("/workflows/execute", status_code=status.HTTP_202_ACCEPTED, responses=ERRORS)
async def execute(body: ExecuteIn, request: Request, caller: CallerDep) -> dict[str, Any]:
    """Queue a task for agents with the ``intent`` capability (created if ``taskId`` is new).
    Ledgerflow requires a token here, which DevFlow's example omits (docs/agents.md)."""
    done = await task_reports.execute(request, caller, body)
    return {"accepted": True, "taskId": str(done.aggregate.id)}
