"""Flow commands and queries: /api/v1/flows, its steps, and starting runs (CONTRACT A.2, A10)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status

from application.flow import FlowCommands
from domain.flow import FlowNotFound
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
from interfaces.api.flow_views import flow_of, flow_out, run_of, step_out
from interfaces.api.read_wait import settled
from interfaces.api.schemas import page_fields
from interfaces.api.schemas_flows import (
    FlowIn,
    FlowListOut,
    FlowOut,
    FlowUpdateIn,
    RunIn,
    RunOut,
    StepIn,
    StepOut,
    StepUpdateIn,
)
from projections.flow import FlowQueries

router = APIRouter(prefix="/api/v1/flows", tags=["flows"])
FlowsDep = Annotated[FlowQueries, Depends(queries(FlowQueries))]
WRITE = {**AUTHED, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT, 412: STALE}


@router.get("", response_model=FlowListOut, responses=AUTHED)
def list_flows(
    user_id: CurrentUserId,
    flows: FlowsDep,
    _: Annotated[None, settled(FlowQueries)],
    paging: PagingDep,
    is_active: bool | None = None,
    is_template: bool | None = None,
    q: str | None = None,
) -> FlowListOut:
    """The user's flows, newest first, filtered by is_active, is_template and name (q)."""
    found = flows.list(user_id, is_active, is_template, q, paging.limit, paging.offset)
    shown = [flow_out(row) for row in found.flows]
    return FlowListOut(
        flows=shown, **page_fields(found.total, paging.limit, paging.offset, len(shown))
    )


@router.post("", status_code=status.HTTP_201_CREATED, responses={**AUTHED, 403: FORBIDDEN})
def create_flow(
    body: FlowIn,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    response: Response,
) -> FlowOut:
    """Define a flow, its steps inline (a DAG: 422 with a machine code when it is not one)."""
    written = app[FlowCommands].define_flow(context, writer.user_id, body.fields())
    consistency.wrote(writer.user_id, written.position)
    response.headers["Location"] = f"/api/v1/flows/{written.aggregate.id}"
    return flow_of(written.aggregate, written.position, response)


@router.get("/{flow_id}", responses={**AUTHED, 404: NOT_FOUND})
def get_flow(
    flow_id: UUID,
    user_id: CurrentUserId,
    flows: FlowsDep,
    _: Annotated[None, settled(FlowQueries)],
    response: Response,
) -> FlowOut:
    """One of the user's flows with all its steps."""
    row = flows.get(user_id, flow_id)
    if row is None:
        raise FlowNotFound(flow_id)
    response.headers["ETag"] = f'"{row["version"]}"'
    return flow_out(row)


@router.put("/{flow_id}", responses=WRITE)
@router.patch("/{flow_id}", responses=WRITE)  # its own operation id (one route per method)
def update_flow(
    flow_id: UUID,
    body: FlowUpdateIn,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    response: Response,
    if_match: IfMatch = None,
) -> FlowOut:
    """Change a flow; ``steps`` replaces them all. Runs in flight keep their snapshot."""
    written = app[FlowCommands].update_flow(
        context, writer.user_id, flow_id, body.changes(), expected_version(if_match)
    )
    consistency.wrote(writer.user_id, written.position)
    return flow_of(written.aggregate, written.position, response)


@router.delete("/{flow_id}", status_code=status.HTTP_204_NO_CONTENT, responses=WRITE)
def delete_flow(
    flow_id: UUID,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    if_match: IfMatch = None,
) -> Response:
    """Delete a flow; runs in flight finish on the definition they started with."""
    written = app[FlowCommands].delete_flow(
        context, writer.user_id, flow_id, expected_version(if_match)
    )
    consistency.wrote(writer.user_id, written.position)
    return Response(status_code=204, headers={POSITION_HEADER: str(written.position)})


@router.get("/{flow_id}/steps", responses={**AUTHED, 404: NOT_FOUND})
def list_steps(
    flow_id: UUID,
    user_id: CurrentUserId,
    flows: FlowsDep,
    _: Annotated[None, settled(FlowQueries)],
) -> dict[str, object]:
    """The steps of one of the user's flows, in order."""
    found = get_flow(flow_id, user_id, flows, None, Response())
    return {"steps": found.steps, "total": len(found.steps)}


@router.post("/{flow_id}/steps", status_code=status.HTTP_201_CREATED, responses=WRITE)
def add_step(
    flow_id: UUID,
    body: StepIn,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    response: Response,
    if_match: IfMatch = None,
) -> StepOut:
    """Add a step (without depends_on it follows the last step)."""
    written, step = app[FlowCommands].add_step(
        context, writer.user_id, flow_id, body.raw(), expected_version(if_match)
    )
    consistency.wrote(writer.user_id, written.position)
    flow_of(written.aggregate, written.position, response)
    return step_out(flow_id, step)


@router.put("/{flow_id}/steps/{step_id}", responses=WRITE)
@router.patch("/{flow_id}/steps/{step_id}", responses=WRITE)
def update_step(
    flow_id: UUID,
    step_id: UUID,
    body: StepUpdateIn,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    response: Response,
    if_match: IfMatch = None,
) -> StepOut:
    """Change some fields of a step (the flow's DAG is checked again)."""
    written, step = app[FlowCommands].update_step(
        context, writer.user_id, flow_id, step_id, body.changes(), expected_version(if_match)
    )
    consistency.wrote(writer.user_id, written.position)
    flow_of(written.aggregate, written.position, response)
    return step_out(flow_id, step)


@router.delete(
    "/{flow_id}/steps/{step_id}", status_code=status.HTTP_204_NO_CONTENT, responses=WRITE
)
def remove_step(
    flow_id: UUID,
    step_id: UUID,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    if_match: IfMatch = None,
) -> Response:
    """Remove a step; 409 STEP_HAS_DEPENDENTS while other steps depend on it."""
    written = app[FlowCommands].remove_step(
        context, writer.user_id, flow_id, step_id, expected_version(if_match)
    )
    consistency.wrote(writer.user_id, written.position)
    return Response(status_code=204, headers={POSITION_HEADER: str(written.position)})


@router.post(
    "/{flow_id}/runs",
    status_code=status.HTTP_202_ACCEPTED,
    responses={**AUTHED, 403: FORBIDDEN, 404: NOT_FOUND},
)
def start_run(
    flow_id: UUID,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    response: Response,
    body: RunIn | None = None,
) -> RunOut:
    """Start a run of the flow as it is now; follow it at the Location."""
    inputs = body.inputs if body is not None else {}
    written = app[FlowCommands].start_run(context, writer.user_id, flow_id, inputs)
    consistency.wrote(writer.user_id, written.position)
    response.headers["Location"] = f"/api/v1/runs/{written.aggregate.id}"
    response.headers[POSITION_HEADER] = str(written.position)
    return run_of(written.aggregate, written.position)
