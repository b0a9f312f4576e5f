"""Behflow's process list (000:L160-176, CONTRACT A.4): a process is a flow, with the
``trigger_type`` and ``schedule`` of its enabled triggers. A route of its own, not an alias of the
flow list: it joins two read models (flows and triggers). Executing a process is an alias of
starting a run (``interfaces/features/flows.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from interfaces.api.deps import (
    CurrentUserId,
    queries,
)
from interfaces.api.errors import AUTHED
from interfaces.api.read_wait import settled
from interfaces.api.routes.flows import FlowsDep
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
