"""What the task report endpoints do (progress, complete, fail, execute), shared by the canonical
routes and DevFlow's. Only the lease holder (agent token) or the owner may report; a report on a
finished or cancelled task is a 409 so the agent knows to stop."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from application.dispatch import DispatchCommands
from application.result import Written
from domain.task import Task
from interfaces.api.agent_auth import Caller, task_path_id
from interfaces.api.agent_schemas import CompleteIn, ExecuteIn, FailIn, ProgressIn
from interfaces.api.agent_view import parse_id
from interfaces.api.consistency import Consistency
from interfaces.container import Container

TASK_KEYS = UUID("8f8d6c1e-54c1-4c0e-9a43-0b7c2b9d1f5e")  # DevFlow task ids that are not UUIDs


def _dispatch(request: Request) -> DispatchCommands:
    container: Container = request.app.state.container
    return container.ledger[DispatchCommands]


async def _wrote(request: Request, caller: Caller, done: Written[Task]) -> None:
    consistency: Consistency = request.app.state.consistency
    await consistency.wrote_async(caller.owner_id, done.position)
    if caller.agent_id is not None:
        await consistency.wrote_async(caller.agent_id, done.position)


async def progress(request: Request, caller: Caller, raw: str, body: ProgressIn) -> Written[Task]:
    """Record progress (0..1; 400 outside) and extend the lease."""
    task_id = task_path_id(raw)
    report = body.sent()
    done = await run_in_threadpool(
        _dispatch(request).report_progress, caller.context, caller.reporter, task_id, report
    )
    await _wrote(request, caller, done)
    return done


async def complete(request: Request, caller: Caller, raw: str, body: CompleteIn) -> Written[Task]:
    """Record a completion (``success: false`` records a failure with the summary as error)."""
    task_id = task_path_id(raw)
    dispatch = _dispatch(request)
    if not body.success:
        error = body.summary or body.output or "failed"
        done = await run_in_threadpool(
            dispatch.fail_task, caller.context, caller.reporter, task_id, error, body.output
        )
    else:
        result = body.sent()
        done = await run_in_threadpool(
            dispatch.complete_task, caller.context, caller.reporter, task_id, result
        )
    await _wrote(request, caller, done)
    return done


async def fail(request: Request, caller: Caller, raw: str, body: FailIn) -> Written[Task]:
    """Record a failure: retried while attempts remain, else failed and dead-lettered."""
    task_id = task_path_id(raw)
    done = await run_in_threadpool(
        _dispatch(request).fail_task,
        caller.context,
        caller.reporter,
        task_id,
        body.error,
        body.details,
        body.logs,
    )
    await _wrote(request, caller, done)
    return done


def execute_task_id(owner_id: UUID, raw: str) -> UUID:
    """The task DevFlow's ``taskId`` names: a UUID (``task-`` prefix stripped) or, for any other
    string, the owner's task of that key (uuid5), so retries name the same task."""
    return parse_id(raw, "task") or uuid5(TASK_KEYS, f"{owner_id}:{raw}")


async def execute(request: Request, caller: Caller, body: ExecuteIn) -> Written[Task]:
    """DevFlow's execute: queue (or create) the task for agents with the intent's capability."""
    task_id = execute_task_id(caller.owner_id, body.task_id)
    values: dict[str, Any] = body.sent()
    done = await run_in_threadpool(
        _dispatch(request).execute, caller.context, caller.owner_id, task_id, values
    )
    await _wrote(request, caller, done)
    return done
