"""flow8's flows and layers (its steps) at /api/flows (004:L77-86)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response, status

from domain.flow import FlowNotFound, StepNotFound
from interfaces.api.deps import (
    ConsistencyDep,
    Context,
    CurrentUserId,
    IfMatch,
    LedgerDep,
    Paging,
    Writer,
)
from interfaces.api.errors import AUTHED, NOT_FOUND
from interfaces.api.read_wait import settled
from interfaces.api.routes import flows
from interfaces.api.routes.flows import FlowsDep
from interfaces.api.schemas_flows import FlowIn, FlowUpdateIn, RunIn, StepIn, StepUpdateIn
from interfaces.api.seed_presenter import Flow8Route, Page, Size, flow8_page, seed_uuid, with_id
from projections.flow import FlowQueries

flow8 = APIRouter(prefix="/api", tags=["seed aliases: flow8"], route_class=Flow8Route)
router = flow8


# --- flow8: /api/flows, /api/plays ---------------------------------------------------------


@flow8.get("/flows", responses=AUTHED)
def list_flow8_flows(
    user_id: CurrentUserId,
    found: FlowsDep,
    _: Annotated[None, settled(FlowQueries)],
    page: Page = 0,
    size: Size = 25,
) -> dict[str, Any]:
    """flow8's flow list, zero-based pages."""
    listed = flows.list_flows(user_id, found, None, Paging(size, page * size))
    return flow8_page([with_id(f, "flow_id") for f in listed.flows], listed.total, page, size)


@flow8.post("/flows", status_code=status.HTTP_201_CREATED, responses=AUTHED)
def create_flow8_flow(
    body: FlowIn,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    response: Response,
) -> dict[str, Any]:
    """flow8's create flow."""
    return with_id(flows.create_flow(body, app, context, writer, consistency, response), "flow_id")


@flow8.get("/flows/{id}", responses={**AUTHED, 404: NOT_FOUND})
def get_flow8_flow(
    id: str,
    user_id: CurrentUserId,
    found: FlowsDep,
    _: Annotated[None, settled(FlowQueries)],
    response: Response,
) -> dict[str, Any]:
    """flow8's flow (404 in flow8's form: FLOW_NOT_FOUND)."""
    flow_id = seed_uuid(id, FlowNotFound)
    return with_id(flows.get_flow(flow_id, user_id, found, None, response), "flow_id")


@flow8.put("/flows/{id}", responses={**AUTHED, 404: NOT_FOUND})
def update_flow8_flow(
    id: str,
    body: FlowUpdateIn,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """flow8's update flow."""
    flow_id = seed_uuid(id, FlowNotFound)
    flow = flows.update_flow(flow_id, body, app, context, writer, consistency, response, if_match)
    return with_id(flow, "flow_id")


@flow8.delete("/flows/{id}", status_code=status.HTTP_204_NO_CONTENT, responses=AUTHED)
def delete_flow8_flow(
    id: str,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    if_match: IfMatch = None,
) -> Response:
    """flow8's delete flow."""
    flow_id = seed_uuid(id, FlowNotFound)
    return flows.delete_flow(flow_id, app, context, writer, consistency, if_match)


@flow8.post("/flows/{id}/run", status_code=status.HTTP_202_ACCEPTED, responses=AUTHED)
def run_flow8_flow(
    id: str,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    response: Response,
    body: RunIn | None = None,
) -> dict[str, Any]:
    """flow8's trigger execution: a play (run) in ``pending``."""
    flow_id = seed_uuid(id, FlowNotFound)
    run = flows.start_run(flow_id, app, context, writer, consistency, response, body)
    response.headers["Location"] = f"/api/plays/{run.run_id}"
    return with_id(run, "run_id")


@flow8.get("/flows/{id}/layers", responses={**AUTHED, 404: NOT_FOUND})
def list_flow8_layers(
    id: str,
    user_id: CurrentUserId,
    found: FlowsDep,
    _: Annotated[None, settled(FlowQueries)],
    page: Page = 0,
    size: Size = 25,
) -> dict[str, Any]:
    """flow8's flowlets (steps) of a flow, in its envelope."""
    flow_id = seed_uuid(id, FlowNotFound)
    flow = flows.get_flow(flow_id, user_id, found, None, Response())
    shown = [with_id(s, "step_id") for s in flow.steps[page * size : (page + 1) * size]]
    return flow8_page(shown, len(flow.steps), page, size)


@flow8.post("/flows/{id}/layers", status_code=status.HTTP_201_CREATED, responses=AUTHED)
def add_flow8_layer(
    id: str,
    body: StepIn,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """flow8's add flowlet."""
    flow_id = seed_uuid(id, FlowNotFound)
    step = flows.add_step(flow_id, body, app, context, writer, consistency, response, if_match)
    return with_id(step, "step_id")


@flow8.put("/flows/{id}/layers/{layer_id}", responses={**AUTHED, 404: NOT_FOUND})
def update_flow8_layer(
    id: str,
    layer_id: str,
    body: StepUpdateIn,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """flow8's update flowlet."""
    flow_id, step_id = seed_uuid(id, FlowNotFound), seed_uuid(layer_id, StepNotFound)
    step = flows.update_step(
        flow_id, step_id, body, app, context, writer, consistency, response, if_match
    )
    return with_id(step, "step_id")


@flow8.delete(
    "/flows/{id}/layers/{layer_id}", status_code=status.HTTP_204_NO_CONTENT, responses=AUTHED
)
def delete_flow8_layer(
    id: str,
    layer_id: str,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    if_match: IfMatch = None,
) -> Response:
    """flow8's delete flowlet."""
    flow_id, step_id = seed_uuid(id, FlowNotFound), seed_uuid(layer_id, StepNotFound)
    return flows.remove_step(flow_id, step_id, app, context, writer, consistency, if_match)
