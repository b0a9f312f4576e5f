"""Task commands and queries: /api/v1/tasks (Behflow's contract plus ETag, If-Match, paging)."""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response, status
from starlette.datastructures import MutableHeaders

from application.history import task_at
from application.ledger import Ledger
from application.result import Written
from application.task import CreateTask, TaskCommands
from domain.task import Task, TaskNotFound, TaskPriority, TaskStatus
from interfaces.api.consistency import POSITION_HEADER
from interfaces.api.deps import (
    CommandDep,
    CurrentUserId,
    IfMatch,
    LedgerDep,
    PagingDep,
    expected_version,
    queries,
)
from interfaces.api.errors import AUTHED, CONFLICT, FORBIDDEN, NOT_FOUND, STALE
from interfaces.api.query import POSITION_MAX, UtcDatetime
from interfaces.api.read_wait import settled
from interfaces.api.schemas import (
    CancelIn,
    TaskIn,
    TaskListOut,
    TaskOut,
    TaskStatusIn,
    TaskUpdateIn,
    TaskWrittenOut,
    dispatch_of,
    page_fields,
)
from interfaces.api.trusted_rows import TrustedRows
from projections.task import TaskQueries

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])
TASK_ROWS = TrustedRows(TaskOut)
TasksDep = Annotated[TaskQueries, Depends(queries(TaskQueries))]


def written_out(
    written: Written[Task], headers: MutableMapping[str, str] | MutableHeaders
) -> TaskWrittenOut:
    """The response of a task command: the new state, its ETag and its position."""
    task = written.aggregate
    headers["ETag"] = f'"{task.version}"'
    headers[POSITION_HEADER] = str(written.position)
    return TaskWrittenOut(
        task_id=task.id,
        name=task.name,
        description=task.description,
        status=TaskStatus(task.status),
        priority=TaskPriority(task.priority),
        due_date=task.due_date,
        created_at=task.created_on,
        updated_at=task.modified_on,
        tags=task.tags,
        version=task.version,
        position=written.position,
        **dispatch_of(task),
    )


@router.get("", response_model=TaskListOut, responses=AUTHED)
def list_tasks(
    user_id: CurrentUserId,
    tasks: TasksDep,
    _: Annotated[None, settled(TaskQueries)],
    paging: PagingDep,
    status: TaskStatusIn | None = None,
    priority: TaskPriority | None = None,
    status_filter: Annotated[TaskStatus | None, Query(description="002's name of status")] = None,
    agent_id: Annotated[UUID | None, Query(description="tasks pinned to this agent")] = None,
) -> Response:
    """The authenticated user's tasks, newest first, filtered by status, priority and agent."""
    limit, offset = paging.limit, paging.offset
    wanted = status or status_filter
    found = tasks.list(
        user_id, wanted and wanted.value, priority and priority.value, limit, offset, agent_id
    )
    paging_out = page_fields(found.total, limit, offset, len(found.tasks))
    # Rows this service wrote, serialised as TaskListOut would without validating them again.
    body = TASK_ROWS.page_json("tasks", found.tasks, **paging_out)
    return Response(body, media_type="application/json")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskWrittenOut,
    responses={**AUTHED, 403: FORBIDDEN},
)
async def create_task(body: TaskIn, command: CommandDep) -> Response:
    """Create a task; it starts as not_started."""
    # async: creating needs no read, and the group commit is awaited without holding a thread
    user_id = command.user_id
    create = CreateTask(
        user_id,
        body.name,
        body.description,
        body.priority.value,
        body.due_date,
        tuple(body.tags),
        body.dispatch(),
    )
    written = await command.ledger[TaskCommands].create_task_async(command.context, create)
    await command.consistency.wrote_async(user_id, written.position)
    # Serialised once here: FastAPI would validate the model again on the way out.
    headers: dict[str, str] = {}
    answer = written_out(written, headers).model_dump_json()
    return Response(answer, status.HTTP_201_CREATED, headers, media_type="application/json")


@router.get("/{task_id}", responses={**AUTHED, 404: NOT_FOUND})
def get_task(
    task_id: UUID,
    user_id: CurrentUserId,
    tasks: TasksDep,
    _: Annotated[None, settled(TaskQueries)],
    response: Response,
    app: LedgerDep,
    as_of: Annotated[
        UtcDatetime | None, Query(description="state at this time (ISO 8601; no zone: UTC)")
    ] = None,
    version: Annotated[
        int | None, Query(ge=1, le=POSITION_MAX, description="state at this version")
    ] = None,
) -> TaskOut:
    """One of the authenticated user's tasks; now, or rebuilt from its events as of a time or
    version."""
    if as_of is not None or version is not None:
        return past_task(app, user_id, task_id, as_of, version, response)
    row = tasks.get(user_id, task_id)
    if row is None:
        raise TaskNotFound(task_id)
    response.headers["ETag"] = f'"{row["version"]}"'
    return TaskOut.model_validate(row)


@router.put(
    "/{task_id}", responses={**AUTHED, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT, 412: STALE}
)
@router.patch(
    "/{task_id}", responses={**AUTHED, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT, 412: STALE}
)
def update_task(
    task_id: UUID,
    body: TaskUpdateIn,
    command: CommandDep,
    response: Response,
    if_match: IfMatch = None,
) -> TaskWrittenOut:
    """Change some fields of a task (PUT and 002's PATCH); send If-Match with its ETag to refuse
    a stale write."""
    user_id = command.user_id
    written = command.ledger[TaskCommands].update_task(
        command.context, user_id, task_id, body.changes(), expected_version(if_match)
    )
    command.consistency.wrote(user_id, written.position)
    return written_out(written, response.headers)


@router.post(
    "/{task_id}/cancel", responses={**AUTHED, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT}
)
def cancel_task(
    task_id: UUID, command: CommandDep, response: Response, body: CancelIn | None = None
) -> TaskWrittenOut:
    """Cancel a task (002); an agent holding it is told to stop (409 on its next report).
    Cancelling a cancelled task is a no-op; a completed or failed one is 409."""
    user_id = command.user_id
    reason = body.reason if body else ""
    written = command.ledger[TaskCommands].cancel_task(command.context, user_id, task_id, reason)
    command.consistency.wrote(user_id, written.position)
    return written_out(written, response.headers)


@router.delete(
    "/{task_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**AUTHED, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT, 412: STALE},
)
def delete_task(task_id: UUID, command: CommandDep, if_match: IfMatch = None) -> Response:
    """Delete a task; it then answers 404."""
    user_id = command.user_id
    written = command.ledger[TaskCommands].delete_task(
        command.context, user_id, task_id, expected_version(if_match)
    )
    command.consistency.wrote(user_id, written.position)
    return Response(status_code=204, headers={POSITION_HEADER: str(written.position)})


def past_task(
    app: Ledger,
    user_id: UUID,
    task_id: UUID,
    as_of: datetime | None,
    version: int | None,
    response: Response,
) -> TaskOut:
    """The task rebuilt from its events at ``version`` or ``as_of`` (the write model)."""
    task = task_at(app, user_id, task_id, version=version, as_of=as_of)
    response.headers["ETag"] = f'"{task.version}"'
    fields = ("name", "description", "status", "priority", "due_date", "tags", "version")
    return TaskOut.model_validate(
        {
            "task_id": task.id,
            "created_at": task.created_on,
            "updated_at": task.modified_on,
            **{name: getattr(task, name) for name in fields},
        }
    )
