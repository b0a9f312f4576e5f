"""Trigger commands: define, change, toggle and delete schedules and event triggers, and record
a firing (the run and its outcome in one commit) for the scheduler and the trigger matcher."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from uuid import UUID

from application.context import CommandContext
from application.flow import FlowCommands
from application.handlers import Handlers
from application.reactor import Reaction
from application.result import Written
from domain.error import DomainError
from domain.flow import Flow, FlowNotFound
from domain.run import Run, RunNotFound
from domain.trigger import ScheduleNotFound, Trigger, TriggerNotFound, TriggerType
from domain.trigger_outcome import TriggerOutcome

KIND_OF: dict[type[TriggerNotFound], TriggerType] = {ScheduleNotFound: TriggerType.TIME_BASED}


class TriggerCommands(Handlers):
    """The handlers of the triggers feature (schedules are time-based triggers)."""

    def define_trigger(
        self,
        context: CommandContext,
        owner_id: UUID,
        kind: str,
        flow_id: UUID,
        config: Mapping[str, Any],
        **fields: Any,
    ) -> Written[Trigger]:
        """Define a trigger of one of the owner's flows (404 for a flow they cannot see)."""
        flow = self.ledger[FlowCommands].get_flow(owner_id, flow_id)
        trigger = Trigger.define(owner_id, kind, flow.id, config, **fields)
        return Written(trigger, self._commit(context, trigger))

    def get_trigger(
        self, owner_id: UUID, trigger_id: UUID, missing: type[TriggerNotFound] = TriggerNotFound
    ) -> Trigger:
        """A trigger the owner can see (``missing`` names it: a schedule or a trigger). A
        schedule's paths (``ScheduleNotFound``) find time-based triggers only, for reading,
        changing and deleting alike."""
        trigger = self._load(Trigger, trigger_id, missing)
        wanted = KIND_OF.get(missing)
        if not trigger.visible_to(owner_id) or wanted not in (None, trigger.kind):
            raise missing(trigger_id)
        return trigger

    def update_trigger(
        self,
        context: CommandContext,
        owner_id: UUID,
        trigger_id: UUID,
        changes: Mapping[str, Any],
        expected_version: int | None = None,
        missing: type[TriggerNotFound] = TriggerNotFound,
    ) -> Written[Trigger]:
        """Change a trigger; a new ``flow_id`` must name one of the owner's flows."""
        if changes.get("flow_id") is not None:
            self.ledger[FlowCommands].get_flow(owner_id, changes["flow_id"])
        return self._change_trigger(
            context, owner_id, trigger_id, expected_version, missing, lambda t: t.update(changes)
        )

    def toggle_trigger(
        self,
        context: CommandContext,
        owner_id: UUID,
        trigger_id: UUID,
        enabled: bool | None = None,
    ) -> Written[Trigger]:
        """Enable or disable a trigger (flip it when ``enabled`` is None)."""
        return self._change_trigger(
            context, owner_id, trigger_id, None, TriggerNotFound, lambda t: t.toggle(enabled)
        )

    def delete_trigger(
        self,
        context: CommandContext,
        owner_id: UUID,
        trigger_id: UUID,
        expected_version: int | None = None,
        missing: type[TriggerNotFound] = TriggerNotFound,
    ) -> Written[Trigger]:
        """Delete a trigger; runs it started go on."""
        return self._change_trigger(
            context, owner_id, trigger_id, expected_version, missing, Trigger.delete
        )

    # --- firing (the scheduler and the trigger matcher) ----------------------------------

    def fire(
        self,
        reaction: Reaction,
        trigger: Trigger,
        run_id: UUID,
        word: str,
        flow: Flow | None = None,
        **detail: Any,
    ) -> bool:
        """Start the run ``run_id`` of the trigger's flow and record ``trigger.fired`` in ONE
        commit, queued on the reaction (nothing new when that run exists already: a replay, a
        racing scheduler); True when the run is started. A flow that is gone or inactive
        records ``trigger.skipped`` (``flow_inactive``) instead and answers False. ``flow``:
        the trigger's flow when the caller has loaded it already (one load for a batch)."""
        commands = self.ledger[FlowCommands]
        try:
            if flow is None or flow.id != trigger.flow_id:
                flow = commands.get_flow(trigger.owner_id, trigger.flow_id)
            if not flow.is_active:
                raise DomainError("the flow is inactive")
            run = commands.new_run(
                reaction.context,
                trigger.owner_id,
                flow.id,
                trigger.inputs,
                word,
                run_id,
                trigger.id,
                flow=flow,
            )
        except DomainError:
            cause = str(detail.get("fire_time") or detail.get("event_id"))
            reaction.submit_once(TriggerOutcome.skipped(trigger, "flow_inactive", cause, **detail))
            return False
        reaction.submit_once(run, TriggerOutcome.fired(trigger, run_id, **detail))
        return True

    def run_of(self, run_id: UUID) -> Run | None:
        """The run of that id, or None (not started yet)."""
        try:
            return self.ledger.load(Run, run_id, RunNotFound)
        except RunNotFound:
            return None

    def _change_trigger(
        self,
        context: CommandContext,
        owner_id: UUID,
        trigger_id: UUID,
        expected_version: int | None,
        missing: type[TriggerNotFound],
        change: Callable[[Trigger], object],
    ) -> Written[Trigger]:
        return self._change(
            context,
            lambda: self.get_trigger(owner_id, trigger_id, missing),
            trigger_id,
            expected_version,
            change,
        )


class BatchFlows:
    """The flows a reactor loaded for one batch of fires (cleared by its ``prepare``): a burst
    of a thousand fires of one flow loads it once per batch, and a changed flow is seen at the
    next batch."""

    def __init__(self, ledger: Any) -> None:
        self._ledger = ledger
        self._flows: dict[UUID, Flow] = {}

    def clear(self) -> None:
        """A new batch: forget the flows loaded."""
        self._flows.clear()

    def preload(self, flow_ids: Iterable[UUID]) -> None:
        """Read these flows in one query (those not loaded yet; a flow gone stays unknown)."""
        wanted = [i for i in dict.fromkeys(flow_ids) if i not in self._flows]
        if wanted:
            self._flows.update(self._ledger.load_many(Flow, wanted))

    def of(self, trigger: Trigger) -> Flow | None:
        """The trigger's flow, or None when it is gone (``TriggerCommands.fire`` skips it)."""
        found = self._flows.get(trigger.flow_id)
        if found is None:
            try:
                found = self._ledger.load(Flow, trigger.flow_id, FlowNotFound)
            except FlowNotFound:
                return None
            self._flows[trigger.flow_id] = found
        return found
