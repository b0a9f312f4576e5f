"""The Trigger aggregate: what starts a flow's runs by itself, on a cron (a schedule, type
``time_based``) or on events (type ``event_based``). The outcome of each firing is an aggregate
of its own (``domain/trigger_outcome.py``), so the trigger's stream stays small.

``generation`` counts the changes that move a schedule's next fire time (created, updated,
enabled, disabled); a timer set for an older generation is stale and does nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.cron import cron_expression, timezone_name
from domain.error import InvalidValue, NotFound
from domain.event_pattern import event_type_pattern
from domain.value import bounded_text

NAME_MAX = 200
FILTER_MAX = 20
CATCHUP_WINDOW_MAX = 31 * 86400


class TriggerType(StrEnum):
    """What starts the runs (Behflow's words)."""

    TIME_BASED = "time_based"
    EVENT_BASED = "event_based"


OVERLAP = ("skip", "allow", "buffer_one", "cancel_previous")
CATCHUP = ("skip", "latest", "all")
TYPE_WORDS = {"event": "event_based", "cron": "time_based", "schedule": "time_based"}


class TriggerNotFound(NotFound):
    """No such trigger, or not one the actor may see."""

    kind = "trigger"
    code = "TRIGGER_NOT_FOUND"


class ScheduleNotFound(TriggerNotFound):
    """No such schedule (a time-based trigger), or not one the actor may see."""

    kind = "schedule"
    code = "SCHEDULE_NOT_FOUND"


def trigger_type(value: object) -> str:
    """``time_based`` or ``event_based`` (002's ``event``, ``cron``, ``schedule`` accepted)."""
    word = TYPE_WORDS.get(str(value), str(value))
    if word not in tuple(TriggerType):
        raise InvalidValue("type", "must be one of: time_based, event_based (or event, cron)")
    return word


def _choice(field: str, value: object, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InvalidValue(field, f"must be one of: {', '.join(allowed)}")
    return str(value)


def _event_filter(value: object) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > FILTER_MAX:
        raise InvalidValue("filter", f"must be an object of at most {FILTER_MAX} dotted paths")
    for key, wanted in value.items():
        if not key or len(key) > 200 or any(not part for part in key.split(".")):
            raise InvalidValue("filter", f"{key!r} is not a dotted envelope path")
        if isinstance(wanted, dict | list):
            raise InvalidValue("filter", "values must be strings, numbers, booleans or null")
    return dict(value)


def trigger_config(kind: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """A trigger's configuration checked and completed with its defaults."""
    if kind == TriggerType.EVENT_BASED:
        return {
            "event": event_type_pattern(raw.get("event") or "", "event"),
            "filter": _event_filter(raw.get("filter")),
        }
    window = raw.get("catchup_window_seconds", 86400)
    if not isinstance(window, int) or isinstance(window, bool):
        raise InvalidValue("catchup_window_seconds", "must be a whole number of seconds")
    if not 0 <= window <= CATCHUP_WINDOW_MAX:
        raise InvalidValue("catchup_window_seconds", f"must be 0 to {CATCHUP_WINDOW_MAX}")
    return {
        "cron": cron_expression(raw.get("cron") or raw.get("schedule")),
        "timezone": timezone_name(raw.get("timezone") or "UTC"),
        "overlap_policy": _choice("overlap_policy", raw.get("overlap_policy", "skip"), OVERLAP),
        "catchup_policy": _choice("catchup_policy", raw.get("catchup_policy", "latest"), CATCHUP),
        "catchup_window_seconds": window,
    }


def _inputs(value: object) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidValue("inputs", "must be an object")
    return dict(value)


class Trigger(Aggregate):
    """A schedule or an event trigger of one owner, starting runs of one flow."""

    TOPIC = "trigger"

    class Created(Aggregate.Created):
        TOPIC = "trigger.created"
        owner_id: UUID
        name: str
        kind: str
        flow_id: UUID
        config: dict[str, Any]
        inputs: dict[str, Any]
        enabled: bool

    class Updated(Aggregate.Event):
        TOPIC = "trigger.updated"
        changes: dict[str, Any]

    class Enabled(Aggregate.Event):
        TOPIC = "trigger.enabled"

    class Disabled(Aggregate.Event):
        TOPIC = "trigger.disabled"

    class Deleted(Aggregate.Event):
        TOPIC = "trigger.deleted"

    @event(Created)
    def __init__(
        self,
        owner_id: UUID,
        name: str,
        kind: str,
        flow_id: UUID,
        config: dict[str, Any],
        inputs: dict[str, Any],
        enabled: bool,
    ) -> None:
        self.owner_id = owner_id
        self.name = name
        self.kind = kind
        self.flow_id = flow_id
        self.config = dict(config)
        self.inputs = dict(inputs)
        self.enabled = enabled
        self.deleted = False
        self.generation = 1

    @classmethod
    def define(
        cls,
        owner_id: UUID,
        kind: str,
        flow_id: UUID,
        config: Mapping[str, Any],
        name: str = "",
        inputs: Mapping[str, Any] | None = None,
        enabled: bool = True,
    ) -> Trigger:
        """Check the values and create the trigger."""
        kind = trigger_type(kind)
        checked = trigger_config(kind, config)
        default = checked.get("cron") or checked.get("event") or kind
        return cls(
            owner_id=owner_id,
            name=bounded_text("name", name or str(default), max_length=NAME_MAX),
            kind=kind,
            flow_id=flow_id,
            config=checked,
            inputs=_inputs(inputs),
            enabled=bool(enabled),
        )

    def visible_to(self, user_id: UUID) -> bool:
        """True when ``user_id`` may see and change this trigger."""
        return bool(self.owner_id == user_id) and not self.deleted

    def update(self, changes: Mapping[str, Any]) -> None:
        """Change the name, flow, configuration or inputs; ``enabled`` toggles; nothing
        recorded when nothing changes."""
        out: dict[str, Any] = {}
        if changes.get("name") is not None:
            out["name"] = bounded_text("name", changes["name"], max_length=NAME_MAX)
        if changes.get("flow_id") is not None:
            out["flow_id"] = changes["flow_id"]
        if changes.get("inputs") is not None:
            out["inputs"] = _inputs(changes["inputs"])
        if changes.get("config") is not None:
            out["config"] = trigger_config(self.kind, {**self.config, **changes["config"]})
        out = {k: v for k, v in out.items() if getattr(self, k) != v}
        if out:
            self._update(changes=out)
        if changes.get("enabled") is not None:
            self.toggle(bool(changes["enabled"]))

    def toggle(self, enabled: bool | None = None) -> None:
        """Enable or disable (flip when ``enabled`` is None); nothing when already so."""
        wanted = (not self.enabled) if enabled is None else enabled
        if wanted and not self.enabled:
            self._enable()
        elif not wanted and self.enabled:
            self._disable()

    def delete(self) -> None:
        """Delete the trigger: it never fires again."""
        self._delete()

    @event(Updated)
    def _update(self, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            setattr(self, key, value)
        self.generation += 1

    @event(Enabled)
    def _enable(self) -> None:
        self.enabled = True
        self.generation += 1

    @event(Disabled)
    def _disable(self) -> None:
        self.enabled = False
        self.generation += 1

    @event(Deleted)
    def _delete(self) -> None:
        self.deleted = True
        self.enabled = False
        self.generation += 1


def scheduled_run_id(trigger_id: UUID, fire_time: datetime) -> UUID:
    """The run a schedule starts at ``fire_time``: the same id whoever fires it, however often."""
    return uuid5(trigger_id, fire_time.isoformat())


def event_run_id(trigger_id: UUID, event_id: UUID) -> UUID:
    """The run an event trigger starts for one event: the same id on every redelivery."""
    return uuid5(trigger_id, str(event_id))
