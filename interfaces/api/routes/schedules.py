"""Schedules: time-based triggers shown flat, at /api/v1/schedules (CONTRACT A.6; flow8's
/api/schedules is an alias)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status

from application.trigger import TriggerCommands
from domain.trigger import ScheduleNotFound, TriggerType
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
    ScheduleIn,
    ScheduleListOut,
    ScheduleOut,
    ScheduleUpdateIn,
)
from interfaces.api.trigger_views import paged, schedule_out, written_row
from projections.trigger import TriggerQueries

router = APIRouter(prefix="/api/v1/schedules", tags=["schedules"])
TriggersDep = Annotated[TriggerQueries, Depends(queries(TriggerQueries))]
Settled = Annotated[None, settled(TriggerQueries)]
WRITE = {**AUTHED, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT, 412: STALE}
TIME_BASED = TriggerType.TIME_BASED.value


@router.get("", responses=AUTHED)
def list_schedules(
    user_id: CurrentUserId,
    triggers: TriggersDep,
    _: Settled,
    paging: PagingDep,
    flow_id: UUID | None = None,
    enabled: bool | None = None,
) -> ScheduleListOut:
    """Your schedules, newest first, with their next fire time and last run."""
    found = triggers.list(user_id, TIME_BASED, enabled, flow_id, paging.limit, paging.offset)
    items = [schedule_out(row) for row in found.rows]
    return ScheduleListOut(**paged("schedules", items, found.total, paging.limit, paging.offset))


@router.post("", status_code=status.HTTP_201_CREATED, responses={**AUTHED, 403: FORBIDDEN})
def create_schedule(
    body: ScheduleIn,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    response: Response,
) -> ScheduleOut:
    """Run a flow on a cron in a time zone; 422 `INVALID_CRON` / `UNKNOWN_TIMEZONE`, 404 for
    a flow you cannot see. Each fire time starts one run, id uuid5(schedule_id, fire_time)."""
    written = app[TriggerCommands].define_trigger(
        context,
        writer.user_id,
        TIME_BASED,
        body.flow_id,
        body.config(),
        name=body.name or "",
        inputs=body.inputs,
        enabled=body.enabled,
    )
    consistency.wrote(writer.user_id, written.position)
    response.headers["Location"] = f"/api/v1/schedules/{written.aggregate.id}"
    return schedule_out(written_row(written, None, response))


def _row(triggers: TriggerQueries, user_id: UUID, schedule_id: UUID) -> dict[str, object]:
    row = triggers.get(user_id, schedule_id)
    if row is None or row["type"] != TIME_BASED:
        raise ScheduleNotFound(schedule_id)
    return row


@router.get("/{schedule_id}", responses={**AUTHED, 404: NOT_FOUND})
def get_schedule(
    schedule_id: UUID,
    user_id: CurrentUserId,
    triggers: TriggersDep,
    _: Settled,
    response: Response,
) -> ScheduleOut:
    """One of your schedules."""
    row = _row(triggers, user_id, schedule_id)
    response.headers["ETag"] = f'"{row["version"]}"'
    return schedule_out(row)


@router.put("/{schedule_id}", responses=WRITE)
@router.patch("/{schedule_id}", responses=WRITE)  # its own operation id (one route per method)
def update_schedule(
    schedule_id: UUID,
    body: ScheduleUpdateIn,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    triggers: TriggersDep,
    response: Response,
    if_match: IfMatch = None,
) -> ScheduleOut:
    """Change a schedule (only the fields sent); its next fire time follows."""
    written = app[TriggerCommands].update_trigger(
        context,
        writer.user_id,
        schedule_id,
        body.changes(),
        expected_version(if_match),
        ScheduleNotFound,
    )
    consistency.wrote(writer.user_id, written.position)
    known = triggers.get(writer.user_id, schedule_id)
    return schedule_out(written_row(written, known, response))


@router.delete("/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT, responses=WRITE)
def delete_schedule(
    schedule_id: UUID,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    if_match: IfMatch = None,
) -> Response:
    """Delete a schedule: it never fires again."""
    written = app[TriggerCommands].delete_trigger(
        context, writer.user_id, schedule_id, expected_version(if_match), ScheduleNotFound
    )
    consistency.wrote(writer.user_id, written.position)
    return Response(status_code=204, headers={POSITION_HEADER: str(written.position)})
