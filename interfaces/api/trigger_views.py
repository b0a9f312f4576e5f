"""Triggers and schedules as the API shows them: from a read-model row, or from the aggregate a
command just wrote (its run counters from the read model when it has them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import Response

from application.result import Written
from domain.cron import next_fire
from domain.trigger import Trigger, TriggerType
from interfaces.api.consistency import POSITION_HEADER
from interfaces.api.schemas import page_fields
from interfaces.api.schemas_triggers import ScheduleOut, TriggerOut


def row_of(trigger: Trigger, known: dict[str, Any] | None = None) -> dict[str, Any]:
    """The read-model row of a trigger a command just changed (counters from ``known``)."""
    known = known or {}
    upcoming = None
    if trigger.kind == TriggerType.TIME_BASED and trigger.enabled:
        upcoming = next_fire(trigger.config["cron"], trigger.config["timezone"], datetime.now(UTC))
    return {
        "trigger_id": trigger.id,
        "owner_id": trigger.owner_id,
        "name": trigger.name,
        "type": trigger.kind,
        "flow_id": trigger.flow_id,
        "config": trigger.config,
        "inputs": trigger.inputs,
        "enabled": trigger.enabled,
        "next_fire_at": upcoming,
        "last_fired_at": known.get("last_fired_at"),
        "last_run_id": known.get("last_run_id"),
        "fire_count": known.get("fire_count", 0),
        "created_at": trigger.created_on,
        "updated_at": trigger.modified_on,
        "version": trigger.version,
    }


def trigger_out(row: dict[str, Any]) -> TriggerOut:
    """A row as a TriggerOut (002's ``action`` rebuilt from the flow and inputs)."""
    action = {"type": "run_flow", "flow_id": str(row["flow_id"]), "inputs": row["inputs"]}
    return TriggerOut.model_validate({**row, "id": row["trigger_id"], "action": action})


def schedule_out(row: dict[str, Any]) -> ScheduleOut:
    """A row of a time-based trigger as a flat ScheduleOut."""
    tid = row["trigger_id"]
    return ScheduleOut.model_validate({**row, **row["config"], "schedule_id": tid, "id": tid})


def written_row(
    written: Written[Trigger], known: dict[str, Any] | None, response: Response
) -> dict[str, Any]:
    """The row of a written trigger, with its ETag and position headers set."""
    response.headers["ETag"] = f'"{written.aggregate.version}"'
    response.headers[POSITION_HEADER] = str(written.position)
    return row_of(written.aggregate, known)


def paged(name: str, items: list[Any], total: int, limit: int, offset: int) -> dict[str, Any]:
    """A canonical list answer."""
    return {name: items, **page_fields(total, limit, offset, len(items))}
