"""The outcome of one firing of a trigger: ``trigger.fired``, ``trigger.skipped`` or
``trigger.missed``, each an aggregate of its own with a deterministic id (the trigger and the
cause), so a replayed firing collides on version 1 and the trigger's own stream stays small."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate


def _iso(value: datetime | None) -> str | None:
    """Fire times are stored as ISO 8601 text (UTC), the form their run ids are made from."""
    return value.isoformat() if value is not None else None


def outcome_id(trigger_id: UUID, cause: str) -> UUID:
    """The id of an outcome that starts no run (skipped, missed, filtered)."""
    return uuid5(trigger_id, f"outcome:{cause}")


class Owned(Protocol):
    """What an outcome names of its trigger: its id and owner."""

    @property
    def id(self) -> UUID: ...

    @property
    def owner_id(self) -> UUID: ...


class TriggerOutcome(Aggregate):
    """What one firing of a trigger did: started a run, was skipped, or found times missed."""

    TOPIC = "trigger_outcome"

    class Created(Aggregate.Created):
        TOPIC = "trigger_outcome.created"  # never recorded: the three below create it

    class Fired(Aggregate.Created):
        TOPIC = "trigger.fired"
        owner_id: UUID
        trigger_id: UUID
        run_id: UUID
        fire_time: str | None
        event_id: UUID | None
        next_fire_at: str | None

    class Skipped(Aggregate.Created):
        TOPIC = "trigger.skipped"
        owner_id: UUID
        trigger_id: UUID
        reason: str
        run_id: UUID | None
        fire_time: str | None
        event_id: UUID | None
        next_fire_at: str | None

    class Missed(Aggregate.Created):
        TOPIC = "trigger.missed"
        owner_id: UUID
        trigger_id: UUID
        fire_times: list[str]
        next_fire_at: str | None

    def __init__(
        self,
        owner_id: UUID,
        trigger_id: UUID,
        run_id: UUID | None = None,
        fire_time: str | None = None,
        event_id: UUID | None = None,
        reason: str | None = None,
        fire_times: list[str] | None = None,
        next_fire_at: str | None = None,
    ) -> None:
        self.owner_id = owner_id
        self.trigger_id = trigger_id
        self.run_id = run_id
        self.fire_time = fire_time
        self.event_id = event_id
        self.reason = reason
        self.fire_times = fire_times or []
        self.next_fire_at = next_fire_at

    @classmethod
    def fired(cls, trigger: Owned, run_id: UUID, **detail: Any) -> TriggerOutcome:
        """A run was started (``fire_time`` for a schedule, ``event_id`` for an event)."""
        return cls._create(
            cls.Fired,
            id=outcome_id(trigger.id, f"fired:{run_id}"),
            owner_id=trigger.owner_id,
            trigger_id=trigger.id,
            run_id=run_id,
            fire_time=_iso(detail.get("fire_time")),
            event_id=detail.get("event_id"),
            next_fire_at=_iso(detail.get("next_fire_at")),
        )

    @classmethod
    def skipped(cls, trigger: Owned, reason: str, cause: str, **detail: Any) -> TriggerOutcome:
        """No run: the previous one is still going (``overlap``), the event did not pass the
        filter (``filtered``), or the flow is inactive or gone (``flow_inactive``)."""
        return cls._create(
            cls.Skipped,
            id=outcome_id(trigger.id, f"skipped:{cause}"),
            owner_id=trigger.owner_id,
            trigger_id=trigger.id,
            reason=reason,
            run_id=detail.get("run_id"),
            fire_time=_iso(detail.get("fire_time")),
            event_id=detail.get("event_id"),
            next_fire_at=_iso(detail.get("next_fire_at")),
        )

    @classmethod
    def missed(
        cls, trigger: Owned, fire_times: list[datetime], next_fire_at: datetime | None
    ) -> TriggerOutcome:
        """The scheduler was down at these fire times."""
        return cls._create(
            cls.Missed,
            id=outcome_id(trigger.id, f"missed:{fire_times[0].isoformat()}"),
            owner_id=trigger.owner_id,
            trigger_id=trigger.id,
            fire_times=[t.isoformat() for t in fire_times],
            next_fire_at=_iso(next_fire_at),
        )
