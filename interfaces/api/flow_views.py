"""How flows, steps and runs are shown: from a read-model row or from an aggregate after a
command. Shared by the canonical routes and the seeds' spellings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID, uuid5

from fastapi import Response

from domain.flow import Flow
from domain.flow_step import SEALED
from domain.run import Run
from interfaces.api.consistency import POSITION_HEADER
from interfaces.api.schemas_flows import FlowOut, RunOut, StepOut, StepRunOut

MASK = "********"


def _masked(config: Mapping[str, Any]) -> dict[str, Any]:
    headers = config.get("headers")
    if not isinstance(headers, dict):
        return dict(config)
    shown = {k: MASK if str(v).startswith(SEALED) else v for k, v in headers.items()}
    return {**config, "headers": shown}


def step_out(flow_id: UUID, step: Mapping[str, Any]) -> StepOut:
    """A stored step as clients see it: dependencies as step ids, secrets masked."""
    return StepOut(
        step_id=step["step_id"],
        key=step["key"],
        name=step["name"],
        type=step["type"],
        order=step["order"],
        config=_masked(step.get("config") or {}),
        agent_id=step.get("agent_id"),
        depends_on=[uuid5(UUID(str(flow_id)), key) for key in step["depends_on"]],
        timeout_seconds=step.get("timeout_seconds"),
        max_attempts=step.get("max_attempts", 1),
        retry_backoff_seconds=step.get("retry_backoff_seconds", 5.0),
        continue_on_failure=step.get("continue_on_failure", False),
    )


def flow_out(row: Mapping[str, Any], position: int | None = None) -> FlowOut:
    """A flow from its read-model row."""
    steps = sorted(row["steps"], key=lambda s: s["order"])
    return FlowOut(
        **{k: row[k] for k in ("flow_id", "name", "description", "is_template", "is_active")},
        config=row["config"],
        steps=[step_out(row["flow_id"], s) for s in steps],
        steps_count=len(steps),
        last_run_at=row.get("last_run_at"),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
        position=position,
    )


def flow_of(flow: Flow, position: int, response: Response | None = None) -> FlowOut:
    """A flow right after a command (its ETag and position in the headers)."""
    if response is not None:
        response.headers["ETag"] = f'"{flow.version}"'
        response.headers[POSITION_HEADER] = str(position)
    return flow_out(
        {
            "flow_id": flow.id,
            "name": flow.name,
            "description": flow.description,
            "is_template": flow.is_template,
            "is_active": flow.is_active,
            "config": flow.config,
            "steps": flow.steps,
            "created_at": flow.created_on,
            "updated_at": flow.modified_on,
            "version": flow.version,
        },
        position,
    )


def run_out(row: Mapping[str, Any], position: int | None = None) -> RunOut:
    """A run from its read-model row (``steps`` when the row carries them)."""
    steps = row.get("steps")
    values = {
        k: v for k, v in row.items() if k in RunOut.model_fields and k not in ("steps", "position")
    }
    return RunOut(
        **values,
        steps=None if steps is None else [StepRunOut.model_validate(s) for s in steps],
        position=position,
    )


def run_of(run: Run, position: int) -> RunOut:
    """A run right after it was started: pending, every step pending."""
    steps = [
        StepRunOut(
            step_id=s["step_id"], key=s["key"], name=s["name"], type=s["type"],
            status=run.step_state(s["step_id"])["status"], attempt=0,
        )
        for s in run.steps
    ]  # fmt: skip
    return RunOut(
        run_id=run.id,
        flow_id=run.flow_id,
        flow_name=run.flow_name,
        flow_version=run.flow_version,
        status=run.status,
        trigger=run.trigger,
        trigger_id=run.trigger_id,
        inputs=run.inputs,
        created_by=run.created_by,
        correlation_id=run.correlation_id,
        created_at=run.created_on,
        steps_total=len(run.steps),
        steps=steps,
        version=run.version,
        position=position,
    )
