"""Run queries and cancel: /api/v1/runs (CONTRACT A11-A14)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Response
from starlette.concurrency import run_in_threadpool

from application.flow import FlowCommands
from domain.run import RunNotFound, RunStatus
from interfaces.api.consistency import POSITION_HEADER
from interfaces.api.deps import (
    ConsistencyDep,
    Context,
    CurrentUserId,
    LedgerDep,
    PagingDep,
    Writer,
    queries,
)
from interfaces.api.errors import AUTHED, CONFLICT, FORBIDDEN, NOT_FOUND
from interfaces.api.flow_views import run_out
from interfaces.api.read_wait import settled
from interfaces.api.schemas import page_fields
from interfaces.api.schemas_flows import CancelIn, RunListOut, RunOut, StepRunOut
from projections.run import RunQueries

router = APIRouter(prefix="/api/v1/runs", tags=["runs"])
RunsDep = Annotated[RunQueries, Depends(queries(RunQueries))]


@router.get("", response_model=RunListOut, responses=AUTHED)
def list_runs(
    user_id: CurrentUserId,
    runs: RunsDep,
    _: Annotated[None, settled(RunQueries)],
    paging: PagingDep,
    flow_id: UUID | None = None,
    status: RunStatus | None = None,
    trigger: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> RunListOut:
    """The user's runs, newest first, filtered by flow, status, trigger and creation time."""
    filters: dict[str, Any] = {
        "flow_id": flow_id,
        "status": status and status.value,
        "trigger": trigger,
        "since": since,
        "until": until,
    }
    found = runs.list(user_id, filters, paging.limit, paging.offset)
    shown = [run_out(row) for row in found.runs]
    return RunListOut(
        runs=shown, **page_fields(found.total, paging.limit, paging.offset, len(shown))
    )


@router.get("/{run_id}", responses={**AUTHED, 404: NOT_FOUND})
def get_run(
    run_id: UUID,
    user_id: CurrentUserId,
    runs: RunsDep,
    _: Annotated[None, settled(RunQueries)],
    response: Response,
) -> RunOut:
    """One of the user's runs with the state of each step."""
    row = runs.get(user_id, run_id)
    if row is None:
        raise RunNotFound(run_id)
    response.headers["ETag"] = f'"{row["version"]}"'
    return run_out(row)


@router.get("/{run_id}/steps", responses={**AUTHED, 404: NOT_FOUND})
def list_run_steps(
    run_id: UUID,
    user_id: CurrentUserId,
    runs: RunsDep,
    _: Annotated[None, settled(RunQueries)],
) -> dict[str, Any]:
    """Each step of a run in flow order: status, attempt, times, duration, result, error."""
    found = get_run(run_id, user_id, runs, None, Response())
    steps: list[StepRunOut] = found.steps or []
    return {"steps": steps, "total": len(steps)}


@router.post(
    "/{run_id}/cancel", responses={**AUTHED, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT}
)
async def cancel_run(
    run_id: UUID,
    app: LedgerDep,
    context: Context,
    writer: Writer,
    runs: RunsDep,
    consistency: ConsistencyDep,
    response: Response,
    body: CancelIn | None = None,
) -> RunOut:
    """Cancel a run: steps in flight are cancelled (their tasks too). Cancelling a cancelled run
    answers it again; a run that succeeded or failed is 409 RUN_FINISHED."""
    reason = body.reason if body is not None else ""
    cancel = app[FlowCommands].cancel_run
    written = await run_in_threadpool(cancel, context, writer.user_id, run_id, reason)
    await consistency.wrote_async(writer.user_id, written.position)
    response.headers[POSITION_HEADER] = str(written.position)
    # The answer is the run as the read model has it once it has the cancellation.
    await consistency.settle_async(runs.name, writer.user_id, written.position or None)
    return await run_in_threadpool(get_run, run_id, writer.user_id, runs, None, response)
