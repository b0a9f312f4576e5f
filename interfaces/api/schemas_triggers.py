"""Request and response bodies of schedules and triggers (CONTRACT A.6, A.7)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from interfaces.api.schemas import StrictIn

FLOW = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
RUN = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
WHEN = "2026-12-02T09:00:00Z"


def _f(description: str, example: Any, **kw: Any) -> Any:
    return Field(description=description, examples=[example], **kw)


class ScheduleIn(StrictIn):
    """A schedule: a flow's run on a cron, in a time zone (Behflow's ``schedule`` is ``cron``)."""

    flow_id: UUID = _f("the flow to run", FLOW)
    cron: str | None = _f("5-field cron (croniter); 422 INVALID_CRON", "0 9 * * *", default=None)
    schedule: str | None = _f("Behflow's name for cron", "0 9 * * *", default=None)
    timezone: str = _f("IANA time zone of the cron; 422 UNKNOWN_TIMEZONE", "UTC", default="UTC")
    enabled: bool = _f("whether it fires", True, default=True)
    overlap_policy: str = _f(
        "while its previous run is going: skip, allow, buffer_one, cancel_previous",
        "skip",
        default="skip",
    )
    catchup_policy: str = _f(
        "after downtime: run none (skip), the latest, or all missed times",
        "latest",
        default="latest",
    )
    catchup_window_seconds: int = _f(
        "how far back a catch-up may run missed times", 86400, default=86400, ge=0
    )
    inputs: dict[str, Any] = _f(
        "the inputs of every run it starts", {"ref": "main"}, default_factory=dict
    )
    name: str | None = _f("a name; default: the cron", "Nightly build", default=None)

    def config(self) -> dict[str, Any]:
        """The time-based trigger configuration."""
        return {
            "cron": self.cron or self.schedule,
            "timezone": self.timezone,
            "overlap_policy": self.overlap_policy,
            "catchup_policy": self.catchup_policy,
            "catchup_window_seconds": self.catchup_window_seconds,
        }


class ScheduleUpdateIn(StrictIn):
    """A partial change of a schedule: only the fields sent change."""

    flow_id: UUID | None = _f("another flow to run", FLOW, default=None)
    cron: str | None = _f("5-field cron", "30 2 * * *", default=None)
    schedule: str | None = _f("Behflow's name for cron", "30 2 * * *", default=None)
    timezone: str | None = _f("IANA time zone", "Europe/Paris", default=None)
    enabled: bool | None = _f("whether it fires", False, default=None)
    overlap_policy: str | None = _f(
        "skip, allow, buffer_one, cancel_previous", "allow", default=None
    )
    catchup_policy: str | None = _f("skip, latest, all", "all", default=None)
    catchup_window_seconds: int | None = _f("catch-up window", 3600, default=None, ge=0)
    inputs: dict[str, Any] | None = _f("run inputs", {"ref": "v2"}, default=None)
    name: str | None = _f("a name", "Nightly build", default=None)

    def changes(self) -> dict[str, Any]:
        """The trigger changes the client sent."""
        sent = self.model_dump(exclude_unset=True)
        if "schedule" in sent:
            sent["cron"] = sent.pop("schedule")
        keys = ("cron", "timezone", "overlap_policy", "catchup_policy", "catchup_window_seconds")
        config = {k: sent.pop(k) for k in keys if sent.get(k) is not None}
        return {**sent, "config": config or None}


class ScheduleOut(BaseModel):
    """A schedule (a time-based trigger, shown flat)."""

    schedule_id: UUID = _f("the schedule's id (= its trigger_id)", FLOW)
    id: UUID = _f("the same id (flow8)", FLOW)
    flow_id: UUID = _f("the flow it runs", FLOW)
    name: str = _f("its name", "Nightly build")
    cron: str = _f("5-field cron", "0 9 * * *")
    timezone: str = _f("IANA time zone", "UTC")
    enabled: bool = _f("whether it fires", True)
    overlap_policy: str = _f("overlap policy", "skip")
    catchup_policy: str = _f("catch-up policy", "latest")
    catchup_window_seconds: int = _f("catch-up window in seconds", 86400)
    inputs: dict[str, Any] = _f("run inputs", {})
    next_fire_at: datetime | None = _f("its next fire time (null when disabled)", WHEN)
    last_fired_at: datetime | None = _f("when it last started a run", WHEN)
    last_run_id: UUID | None = _f("the run it last started", RUN)
    created_at: datetime = _f("when it was created", WHEN)
    updated_at: datetime = _f("when it last changed", WHEN)
    version: int = _f("its version (the ETag)", 1)


class Paged(BaseModel):
    """The paging fields of every list (CONTRACT 2.3)."""

    total: int = _f("how many in all", 1)
    limit: int = _f("page size", 50)
    offset: int = _f("rows skipped", 0)
    has_more: bool = _f("whether more follow", False)
    page: int = _f("1-based page", 1)
    per_page: int = _f("page size", 50)
    pages: int = _f("how many pages", 1)


class ScheduleListOut(Paged):
    """A page of schedules."""

    schedules: list[ScheduleOut] = _f("the schedules, newest first", [])


class ActionIn(StrictIn):
    """What a trigger does: start a run of a flow (``run_flow``, the only action)."""

    type: str = _f("run_flow", "run_flow", default="run_flow", pattern="^run_flow$")
    flow_id: UUID = _f("the flow to run", FLOW)
    inputs: dict[str, Any] = _f("the run's inputs", {}, default_factory=dict)


class TriggerIn(StrictIn):
    """A trigger (002): ``type`` event_based (``config``: ``event``, ``filter``) or time_based
    (``config``: the schedule fields)."""

    name: str = _f("its name", "Run on completion", min_length=1, max_length=200)
    type: str = _f("event_based or time_based (event, cron, schedule accepted)", "event_based")
    config: dict[str, Any] = _f(
        "event_based: event pattern and envelope filter; time_based: cron, timezone, ...",
        {"event": "task.*", "filter": {"data.to_status": "completed"}},
    )
    action: ActionIn = _f("what it starts", {"type": "run_flow", "flow_id": FLOW})
    enabled: bool = _f("whether it fires", True, default=True)


class TriggerUpdateIn(StrictIn):
    """A partial change of a trigger."""

    name: str | None = _f("its name", "Run on failure", default=None, max_length=200)
    config: dict[str, Any] | None = _f(
        "config keys to change", {"event": "task.failed"}, default=None
    )
    action: ActionIn | None = _f("what it starts", {"flow_id": FLOW}, default=None)
    enabled: bool | None = _f("whether it fires", False, default=None)

    def changes(self) -> dict[str, Any]:
        """The trigger changes the client sent."""
        sent = self.model_dump(exclude_unset=True)
        action = sent.pop("action", None) or {}
        return {**sent, "flow_id": action.get("flow_id"), "inputs": action.get("inputs")}


class ToggleIn(StrictIn):
    """Enable or disable; flips when ``enabled`` is absent."""

    enabled: bool | None = _f("the wanted state; absent: flip", True, default=None)


class TriggerOut(BaseModel):
    """A trigger."""

    trigger_id: UUID = _f("its id", FLOW)
    id: UUID = _f("the same id", FLOW)
    name: str = _f("its name", "Run on completion")
    type: str = _f("event_based or time_based", "event_based")
    config: dict[str, Any] = _f("its configuration", {"event": "task.*", "filter": {}})
    action: dict[str, Any] = _f("what it starts", {"type": "run_flow", "flow_id": FLOW})
    enabled: bool = _f("whether it fires", True)
    next_fire_at: datetime | None = _f("next fire time (time_based)", WHEN)
    last_fired_at: datetime | None = _f("when it last started a run", WHEN)
    last_run_id: UUID | None = _f("the run it last started", RUN)
    fire_count: int = _f("how many runs it started", 0)
    created_at: datetime = _f("when it was created", WHEN)
    updated_at: datetime = _f("when it last changed", WHEN)
    version: int = _f("its version (the ETag)", 1)


class TriggerListOut(Paged):
    """A page of triggers."""

    triggers: list[TriggerOut] = _f("the triggers, newest first", [])


class HistoryItem(BaseModel):
    """One outcome of a trigger."""

    at: datetime = _f("when it was recorded", WHEN)
    outcome: str = _f("started, skipped, missed or filtered", "started")
    fire_time: datetime | None = _f("the fire time (schedules)", WHEN)
    event_id: UUID | None = _f("the event that matched (event triggers)", RUN)
    run_id: UUID | None = _f("the run started (or the one still going, for overlap)", RUN)
    detail: dict[str, Any] = _f("reason, or the missed fire_times", {"reason": "overlap"})


class HistoryOut(Paged):
    """A page of a trigger's outcomes, newest first."""

    history: list[HistoryItem] = _f("outcomes, newest first", [])
