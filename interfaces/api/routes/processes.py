"""Behflow's processes, exactly at its paths and with its fields (000:L160-188, CONTRACT A.4):
a process is a flow; executing it starts a run and answers 200 at once."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Response

from application.flow import FlowCommands
from domain.error import NotFound
from interfaces.api.consistency import POSITION_HEADER
from interfaces.api.deps import (
    ConsistencyDep,
    Context,
    CurrentUserId,
    LedgerDep,
    Writer,
    queries,
)
from interfaces.api.errors import AUTHED, NOT_FOUND
from interfaces.api.read_wait import settled
from interfaces.api.routes.flows import FlowsDep
from interfaces.api.seed_presenter import seed_uuid
from projections.envelope import jsonable
from projections.flow import FlowQueries
from projections.trigger import TriggerQueries

router = APIRouter(prefix="/api/v1/processes", tags=["seed-native: Behflow processes"])
PAGE = 200
TriggersDep = Annotated[TriggerQueries, Depends(queries(TriggerQueries))]


def trigger_fields(triggers: list[dict[str, Any]]) -> dict[str, Any]:
    """Behflow's ``trigger_type`` and ``schedule`` from a flow's enabled triggers (oldest
    first): time_based with the cron of its oldest schedule, else event_based, else manual."""
    crons = [t["config"]["cron"] for t in triggers if t["type"] == "time_based"]
    if crons:
        return {"trigger_type": "time_based", "schedule": crons[0]}
    return {"trigger_type": "event_based" if triggers else "manual", "schedule": None}


@router.get("", responses=AUTHED)
def list_processes(
    user_id: CurrentUserId,
    found: FlowsDep,
    triggers: TriggersDep,
    _: Annotated[None, settled(FlowQueries)],
    __: Annotated[None, settled(TriggerQueries)],
) -> dict[str, Any]:
    """Behflow's automated processes: the user's flows in Behflow's fields."""
    rows: list[dict[str, Any]] = []
    while len(rows) % PAGE == 0:
        page = found.list(user_id, limit=PAGE, offset=len(rows)).flows
        rows += page
        if not page:
            break
    by_flow = triggers.for_flows(user_id, [row["flow_id"] for row in rows])
    return {
        "processes": [
            {
                "process_id": str(row["flow_id"]),
                "name": row["name"],
                "description": row["description"],
                **trigger_fields(by_flow.get(row["flow_id"], [])),
                "is_active": row["is_active"],
                "last_execution": jsonable(row["last_run_at"]),
            }
            for row in rows
        ]
    }


@router.post("/{process_id}/execute", responses={**AUTHED, 404: NOT_FOUND})
def execute_process(
    process_id: str,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    response: Response,
) -> dict[str, Any]:
    """Behflow's trigger a process manually: a run starts; 200 with ``status: running``."""
    flow_id: UUID = seed_uuid(process_id, NotFound)
    try:
        written = app[FlowCommands].start_run(context, writer.user_id, flow_id)
    except NotFound:
        raise NotFound(process_id) from None  # Behflow's "Resource not found"
    consistency.wrote(writer.user_id, written.position)
    response.headers[POSITION_HEADER] = str(written.position)
    run = written.aggregate
    return {
        "execution_id": str(run.id),
        "process_id": str(flow_id),
        "status": "running",
        "message": "Run started",
        "started_at": jsonable(run.created_on),
        "completed_at": None,
    }
