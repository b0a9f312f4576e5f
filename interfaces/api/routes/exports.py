"""GET /api/v1/exports/{format}?type=…: the caller's data as JSON, CSV or XLSX, streamed.

Registered after the audit export (``/api/v1/exports/audit``), which this path would take.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from domain.error import InvalidValue
from interfaces.api.deps import ConsistencyDep, ContainerDep, CurrentPrincipal
from interfaces.api.errors import AUTHED
from interfaces.api.export_stream import MEDIA, SCHEMAS, WRITERS
from interfaces.api.routes.analytics import Days, Everyone, window_of

router = APIRouter(prefix="/api/v1/exports", tags=["exports"])


@router.get(
    "/{format}",
    response_class=StreamingResponse,
    responses={
        **AUTHED,
        200: {
            "description": "The rows, streamed in the format asked for",
            "content": {MEDIA[kind]: {"schema": SCHEMAS[kind]} for kind in MEDIA},
        },
    },
)
def export(
    format: Literal["json", "csv", "xlsx"],
    built: ContainerDep,
    principal: CurrentPrincipal,
    consistency: ConsistencyDep,
    kind: Annotated[
        str, Query(alias="type", description="tasks, runs, agents, analytics, …")
    ] = "tasks",
    days: Days = 30,
    all_users: Everyone = False,
) -> StreamingResponse:
    """Your tasks (``type=tasks``), runs (``runs``), agents (``agents``) or your daily numbers
    (``type=analytics``, the last ``days``) as a file; admins may ask for everyone's with
    ``all_users=true``."""
    types = {e.type: e for feature in built.features for e in feature.exports}
    chosen = types.get(kind)
    if chosen is None:
        raise InvalidValue("type", f"must be one of: {', '.join(sorted(types))}")
    scope = window_of(principal, days, all_users)
    if chosen.read_model:
        consistency.settle_own_writes(chosen.read_model, principal.user_id)
    body = WRITERS[format](chosen.columns, chosen.rows(built.lookup, scope))
    return StreamingResponse(
        body,
        media_type=MEDIA[format],
        headers={"Content-Disposition": f"attachment; filename={kind}.{format}"},
    )
