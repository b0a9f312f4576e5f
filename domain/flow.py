"""The Flow aggregate: a definition made of steps whose dependencies form a DAG (002's workflow,
flow8's flow, Behflow's process). Its version is its ETag; a run snapshots the version it runs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.error import Conflict, InvalidValue, NotFound
from domain.flow_step import StepCheck, dependants, normalize_steps
from domain.ids import new_id
from domain.value import bounded_text

NAME_MAX = 200
DESCRIPTION_MAX = 5000
FIELDS = ("name", "description", "is_template", "config")


class FlowNotFound(NotFound):
    """No such flow, or not one the actor may see."""

    kind = "flow"
    code = "FLOW_NOT_FOUND"


class StepNotFound(NotFound):
    """No such step in the flow."""

    kind = "step"
    code = "STEP_NOT_FOUND"


class StepHasDependents(Conflict):
    """A step other steps depend on cannot be removed."""

    code = "STEP_HAS_DEPENDENTS"


def _field(name: str, value: Any) -> Any:
    if name == "name":
        return bounded_text("name", value, max_length=NAME_MAX)
    if name == "description":
        return bounded_text("description", value, max_length=DESCRIPTION_MAX, required=False)
    if name == "is_template":
        return bool(value)
    if not isinstance(value, dict):
        raise InvalidValue("config", "must be an object")
    return dict(value)


def _raw(step: Mapping[str, Any]) -> dict[str, Any]:
    """A stored step in the input form (``normalize_steps`` accepts it again)."""
    return {k: v for k, v in step.items() if k != "step_id"}


class Flow(Aggregate):
    """A named DAG of steps owned by one user."""

    TOPIC = "flow"

    class Created(Aggregate.Created):
        TOPIC = "flow.created"
        owner_id: UUID
        name: str
        description: str
        is_template: bool
        is_active: bool
        config: dict[str, Any]
        steps: list[dict[str, Any]]

    class Updated(Aggregate.Event):
        TOPIC = "flow.updated"
        changes: dict[str, Any]

    class StepAdded(Aggregate.Event):
        TOPIC = "flow.step_added"
        step: dict[str, Any]
        steps: list[dict[str, Any]]

    class StepUpdated(Aggregate.Event):
        TOPIC = "flow.step_updated"
        step: dict[str, Any]
        steps: list[dict[str, Any]]

    class StepRemoved(Aggregate.Event):
        TOPIC = "flow.step_removed"
        step_id: UUID
        steps: list[dict[str, Any]]

    class Activated(Aggregate.Event):
        TOPIC = "flow.activated"

    class Deactivated(Aggregate.Event):
        TOPIC = "flow.deactivated"

    class Deleted(Aggregate.Event):
        TOPIC = "flow.deleted"

    @classmethod
    def define(
        cls,
        owner_id: UUID,
        name: str,
        description: str = "",
        is_template: bool = False,
        is_active: bool = True,
        config: Mapping[str, Any] | None = None,
        steps: Iterable[Mapping[str, Any]] = (),
        flow_id: UUID | None = None,
        *,
        checks: Mapping[str, StepCheck],
    ) -> Flow:
        """Check the values and the DAG of steps (``checks``: every step type's config check),
        and define the flow."""
        flow_id = flow_id or new_id()
        return cls._create(
            cls.Created,
            id=flow_id,
            owner_id=owner_id,
            name=_field("name", name),
            description=_field("description", description),
            is_template=bool(is_template),
            is_active=bool(is_active),
            config=_field("config", config or {}),
            steps=normalize_steps(flow_id, steps, checks),
        )

    @event(Created)
    def __init__(
        self,
        owner_id: UUID,
        name: str,
        description: str,
        is_template: bool,
        is_active: bool,
        config: dict[str, Any],
        steps: list[dict[str, Any]],
    ) -> None:
        self.owner_id = owner_id
        self.name = name
        self.description = description
        self.is_template = is_template
        self.is_active = is_active
        self.config = config
        self.steps = steps
        self.deleted = False

    def visible_to(self, user_id: UUID) -> bool:
        """True when ``user_id`` may see and change this flow."""
        return self.owner_id == user_id and not self.deleted

    def step(self, step_id: UUID) -> dict[str, Any]:
        """One step of the flow by id."""
        for found in self.steps:
            if str(found["step_id"]) == str(step_id):
                return found
        raise StepNotFound(step_id)

    def update(self, changes: Mapping[str, Any], checks: Mapping[str, StepCheck]) -> None:
        """Change fields, the active flag, and (when sent) replace every step."""
        self._ensure_live()
        unknown = set(changes) - {*FIELDS, "is_active", "steps"}
        if unknown:
            raise InvalidValue(sorted(unknown)[0], "is not a field of a flow")
        checked = {k: _field(k, v) for k, v in changes.items() if k in FIELDS}
        if "steps" in changes:
            checked["steps"] = normalize_steps(self.id, changes["steps"], checks)
        differing = {k: v for k, v in checked.items() if getattr(self, k) != v}
        if differing:
            self._update(changes=differing)
        active = changes.get("is_active")
        if active is not None and bool(active) != self.is_active:
            self._activate() if active else self._deactivate()

    def add_step(self, raw: Mapping[str, Any], checks: Mapping[str, StepCheck]) -> dict[str, Any]:
        """Append a step (checked with the others); the stored step."""
        self._ensure_live()
        raw = {"order": max((s["order"] for s in self.steps), default=-1) + 1, **raw}
        steps = normalize_steps(self.id, [*map(_raw, self.steps), raw], checks)
        added = next(s for s in steps if s["key"] not in {t["key"] for t in self.steps})
        self._add_step(step=added, steps=steps)
        return added

    def update_step(
        self, step_id: UUID, changes: Mapping[str, Any], checks: Mapping[str, StepCheck]
    ) -> dict[str, Any]:
        """Change some fields of one step (checked with the others); the stored step."""
        self._ensure_live()
        old = self.step(step_id)
        new = {**_raw(old), **changes, "key": old["key"]}
        steps = normalize_steps(
            self.id, [new if s["key"] == old["key"] else _raw(s) for s in self.steps], checks
        )
        changed = next(s for s in steps if s["key"] == old["key"])
        if changed != old:
            self._update_step(step=changed, steps=steps)
        return changed

    def remove_step(self, step_id: UUID) -> None:
        """Remove a step no other step depends on."""
        self._ensure_live()
        old = self.step(step_id)
        if dependants(self.steps, old["key"]):
            raise StepHasDependents(
                f"Steps {', '.join(dependants(self.steps, old['key']))} depend on {old['key']}"
            )
        self._remove_step(step_id=old["step_id"], steps=[s for s in self.steps if s is not old])

    def delete(self) -> None:
        """Delete the flow; runs in flight finish on the version they started with."""
        self._ensure_live()
        self._delete()

    def _ensure_live(self) -> None:
        if self.deleted:
            raise FlowNotFound(self.id)

    @event(Updated)
    def _update(self, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    @event(StepAdded)
    def _add_step(self, step: dict[str, Any], steps: list[dict[str, Any]]) -> None:
        self.steps = steps

    @event(StepUpdated)
    def _update_step(self, step: dict[str, Any], steps: list[dict[str, Any]]) -> None:
        self.steps = steps

    @event(StepRemoved)
    def _remove_step(self, step_id: UUID, steps: list[dict[str, Any]]) -> None:
        self.steps = steps

    @event(Activated)
    def _activate(self) -> None:
        self.is_active = True

    @event(Deactivated)
    def _deactivate(self) -> None:
        self.is_active = False

    @event(Deleted)
    def _delete(self) -> None:
        self.deleted = True
