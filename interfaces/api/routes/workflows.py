"""002's workflows at its own paths: /api/v1/workflows/ (trailing slash served as written)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from domain.flow import FlowNotFound
from interfaces.api.deps import (
    ConsistencyDep,
    Context,
    CurrentUserId,
    LedgerDep,
    Paging,
    Writer,
)
from interfaces.api.errors import AUTHED, NOT_FOUND
from interfaces.api.query import OFFSET_MAX
from interfaces.api.read_wait import settled
from interfaces.api.routes import flows
from interfaces.api.routes.flows import FlowsDep
from interfaces.api.schemas_flows import FlowIn, StepIn
from interfaces.api.seed_presenter import seed_uuid, with_id
from projections.flow import FlowQueries

workflows = APIRouter(prefix="/api/v1/workflows", tags=["seed aliases: 002 workflows"])
router = workflows


# --- 002: /api/v1/workflows/ ---------------------------------------------------------------


@workflows.get("/", responses=AUTHED)
@workflows.get("", include_in_schema=False)
def list_workflows(
    user_id: CurrentUserId,
    found: FlowsDep,
    _: Annotated[None, settled(FlowQueries)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=OFFSET_MAX)] = 0,
) -> dict[str, Any]:
    """002's workflow list: ``workflows`` plus the canonical paging fields."""
    page = flows.list_flows(user_id, found, None, Paging(limit, offset))
    body = page.model_dump(mode="json", exclude={"flows"})
    return {"workflows": [with_id(f, "flow_id") for f in page.flows], **body}


@workflows.post("/", status_code=status.HTTP_201_CREATED, responses=AUTHED)
@workflows.post("", status_code=status.HTTP_201_CREATED, include_in_schema=False)
def create_workflow(
    body: FlowIn,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    response: Response,
) -> dict[str, Any]:
    """002's create workflow (name, description, is_template, config)."""
    flow = flows.create_flow(body, app, context, writer, consistency, response)
    return with_id(flow, "flow_id")


@workflows.get("/{id}", responses={**AUTHED, 404: NOT_FOUND})
def get_workflow(
    id: str,
    user_id: CurrentUserId,
    found: FlowsDep,
    _: Annotated[None, settled(FlowQueries)],
    response: Response,
) -> dict[str, Any]:
    """002's workflow with all its steps."""
    flow_id = seed_uuid(id, FlowNotFound)
    flow = flows.get_flow(flow_id, user_id, found, None, response)
    return with_id(flow, "flow_id")


@workflows.post("/{id}/steps", status_code=status.HTTP_201_CREATED, responses=AUTHED)
def add_workflow_step(
    id: str,
    body: StepIn,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
    response: Response,
) -> dict[str, Any]:
    """002's add step (``step_type``, ``order``, ``depends_on``...)."""
    flow_id = seed_uuid(id, FlowNotFound)
    step = flows.add_step(flow_id, body, app, context, writer, consistency, response)
    return with_id(step, "step_id")


@workflows.delete("/{id}", status_code=status.HTTP_204_NO_CONTENT, responses=AUTHED)
def delete_workflow(
    id: str,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    consistency: ConsistencyDep,
) -> Response:
    """002's delete workflow."""
    return flows.delete_flow(seed_uuid(id, FlowNotFound), app, context, writer, consistency)
