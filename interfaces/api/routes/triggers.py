"""Event triggers and schedules as 002's triggers: /api/v1/triggers (CONTRACT A.7)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status

from application.trigger import TriggerCommands
from domain.trigger import TriggerNotFound, trigger_type
from interfaces.api.consistency import POSITION_HEADER
from interfaces.api.deps import (
    ConsistencyDep,
    Context,
    CurrentUserId,
    IfMatch,
    LedgerDep,
    PagingDep,
    Writer,
    expected_version,
    queries,
)
from interfaces.api.errors import AUTHED, CONFLICT, FORBIDDEN, NOT_FOUND, STALE
from interfaces.api.read_wait import settled
from interfaces.api.schemas_triggers import (
    HistoryItem,
    HistoryOut,
    ToggleIn,
    TriggerIn,
    TriggerListOut,
    TriggerOut,
    TriggerUpdateIn,
)
from interfaces.api.trigger_views import paged, trigger_out, written_row
from projections.trigger import TriggerQueries

router = APIRouter(prefix="/api/v1/triggers", tags=["triggers"])
TriggersDep = Annotated[TriggerQueries, Depends(queries(TriggerQueries))]
Settled = Annotated[None, settled(TriggerQueries)]
WRITE = {**AUTHED, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT, 412: STALE}


@router.get("", responses=AUTHED)
def list_triggers(
    user_id: CurrentUserId,
    triggers: TriggersDep,
    _: Settled,
    paging: PagingDep,
    type: str | None = None,
    enabled: bool | None = None,
    flow_id: UUID | None = None,
) -> TriggerListOut:
    """Your triggers (schedules included), newest first, filtered by type, enabled and flow."""
    kind = trigger_type(type) if type else None
    found = triggers.list(user_id, kind, enabled, flow_id, paging.limit, paging.offset)
    items = [trigger_out(row) for row in found.rows]
    return TriggerListOut(**paged("triggers", items, found.total, paging.limit, paging.offset))


@router.post("", status_code=status.HTTP_201_CREATED, responses={**AUTHED, 403: FORBIDDEN})
def create_trigger(
    body: TriggerIn,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    response: Response,
) -> TriggerOut:
    """Create a trigger: an event pattern and envelope filter (or a cron) that starts a flow's
    runs; 404 for a flow you cannot see."""
    written = app[TriggerCommands].define_trigger(
        context,
        writer.user_id,
        body.type,
        body.action.flow_id,
        body.config,
        name=body.name,
        inputs=body.action.inputs,
        enabled=body.enabled,
    )
    consistency.wrote(writer.user_id, written.position)
    response.headers["Location"] = f"/api/v1/triggers/{written.aggregate.id}"
    return trigger_out(written_row(written, None, response))


@router.get("/{trigger_id}", responses={**AUTHED, 404: NOT_FOUND})
def get_trigger(
    trigger_id: UUID,
    user_id: CurrentUserId,
    triggers: TriggersDep,
    _: Settled,
    response: Response,
) -> TriggerOut:
    """One of your triggers."""
    row = triggers.get(user_id, trigger_id)
    if row is None:
        raise TriggerNotFound(trigger_id)
    response.headers["ETag"] = f'"{row["version"]}"'
    return trigger_out(row)


@router.put("/{trigger_id}", responses=WRITE)
@router.patch("/{trigger_id}", responses=WRITE)  # its own operation id (one route per method)
def update_trigger(
    trigger_id: UUID,
    body: TriggerUpdateIn,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    triggers: TriggersDep,
    response: Response,
    if_match: IfMatch = None,
) -> TriggerOut:
    """Change a trigger (only the fields sent); `If-Match` gives 412 when stale."""
    written = app[TriggerCommands].update_trigger(
        context, writer.user_id, trigger_id, body.changes(), expected_version(if_match)
    )
    consistency.wrote(writer.user_id, written.position)
    known = triggers.get(writer.user_id, trigger_id)
    return trigger_out(written_row(written, known, response))


@router.delete("/{trigger_id}", status_code=status.HTTP_204_NO_CONTENT, responses=WRITE)
def delete_trigger(
    trigger_id: UUID,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    if_match: IfMatch = None,
) -> Response:
    """Delete a trigger; runs it started go on."""
    written = app[TriggerCommands].delete_trigger(
        context, writer.user_id, trigger_id, expected_version(if_match)
    )
    consistency.wrote(writer.user_id, written.position)
    return Response(status_code=204, headers={POSITION_HEADER: str(written.position)})


@router.post("/{trigger_id}/toggle", responses=WRITE)
def toggle_trigger(
    trigger_id: UUID,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    triggers: TriggersDep,
    response: Response,
    body: ToggleIn | None = None,
) -> TriggerOut:
    """Enable or disable a trigger (002); without `enabled` it flips."""
    wanted = body.enabled if body else None
    written = app[TriggerCommands].toggle_trigger(context, writer.user_id, trigger_id, wanted)
    consistency.wrote(writer.user_id, written.position)
    known = triggers.get(writer.user_id, trigger_id)
    return trigger_out(written_row(written, known, response))


@router.get("/{trigger_id}/history", responses={**AUTHED, 404: NOT_FOUND})
def trigger_history(
    trigger_id: UUID,
    user_id: CurrentUserId,
    triggers: TriggersDep,
    _: Settled,
    paging: PagingDep,
) -> HistoryOut:
    """What a trigger did, newest first: started, skipped, missed or filtered."""
    if triggers.get(user_id, trigger_id) is None:
        raise TriggerNotFound(trigger_id)
    found = triggers.history(trigger_id, paging.limit, paging.offset)
    items = [HistoryItem.model_validate(row) for row in found.rows]
    return HistoryOut(**paged("history", items, found.total, paging.limit, paging.offset))
