"""The trigger matcher: the reactor that starts runs for the events event triggers ask for.

It follows the log, but reacts only to the event types some enabled trigger's pattern can match
(and to trigger events, which keep its index current): a batch of the log without any is passed
over in memory by the runner, like any reactor's. The index (``application/trigger_index.py``)
is loaded from the triggers read model once, and finds an event's candidates by type, reader and
filter value, so matching costs the same with 10 triggers as with 1,000; the envelope is built
only when the event's reader has a candidate. A trigger sees only the events its owner may read
(the event feed's rule): the readers of a batch are read in one query before its reactions.

A matching event whose envelope passes the trigger's filter starts the run
``uuid5(trigger_id, event_id)`` with ``trigger.fired``, queued for the group commit with the other
reactions of its batch: a redelivered or replayed event collides on that id and starts nothing
more. An event that matches the pattern but not the filter is recorded as ``trigger.skipped``
(``filtered``) at most once a minute per trigger (so a busy pattern with a narrow filter does not
write an outcome per event, nor scan every trigger per event).

Trigger events themselves (configuration and outcomes) never start a run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol
from uuid import UUID

from application.reactor import Reaction, Reactor
from application.trigger import BatchFlows, TriggerCommands
from application.trigger_index import Candidates, Entry, Pattern, TriggerIndex
from domain.trigger import Trigger, TriggerNotFound, TriggerType, event_run_id
from domain.trigger_outcome import TriggerOutcome

WORD = "event"
FILTERED_EVERY = timedelta(seconds=60)
OUTCOME_TOPICS = frozenset(
    cls.TOPIC
    for cls in (
        TriggerOutcome.Created,
        TriggerOutcome.Fired,
        TriggerOutcome.Skipped,
        TriggerOutcome.Missed,
    )
)


class TriggerSource(Protocol):
    """What the matcher reads (the triggers read model and the event feed's owners)."""

    def event_triggers(self, trigger_id: UUID | None = None) -> list[dict[str, Any]]: ...

    def readers_of(self, aggregate_ids: Sequence[UUID]) -> dict[UUID, UUID]: ...


class TriggerMatcher(Reactor):
    """Starts the runs of the event triggers an event matches."""

    name = "trigger-matcher"
    needs = ("triggers", "event_feed")

    def __init__(
        self,
        ledger: Any,
        source: TriggerSource,
        envelope: Callable[[Any], dict[str, Any]],
        pattern: Callable[[str], Pattern],
        named_by: Callable[[Any], UUID | None] | None = None,
    ) -> None:
        super().__init__(ledger)
        self._named_by = named_by  # the reader an event names itself (a creating event's)
        self._source = source
        self._envelope = envelope
        self._pattern = pattern
        self._index: TriggerIndex | None = None  # loaded at the first batch that needs it
        self._filtered: dict[UUID, datetime] = {}  # when each trigger last noted "filtered"
        self._triggers: dict[UUID, Trigger] = {}  # loaded; dropped when a trigger event comes
        self._flows = BatchFlows(ledger)
        self._readers: dict[UUID, UUID | None] = {}  # of the batch's events (None: nobody)
        self._envelopes: dict[tuple[UUID, int], dict[str, Any]] = {}  # built by ``prepare``

    def handles(self, topic: str) -> bool:
        """Trigger events, and the types some enabled trigger's pattern can match (every
        type until the index is loaded)."""
        if topic in OUTCOME_TOPICS:
            return False
        if topic.startswith("trigger.") or self._index is None:
            return True
        return bool(self._index.for_type(topic))

    def reaction_to(self, topic: str) -> Callable[[Any, Reaction], None]:
        """Trigger events update the index; outcomes do nothing; every other event is matched."""
        if topic in OUTCOME_TOPICS:
            return lambda event, reaction: None
        if topic.startswith("trigger."):
            return self.when_trigger_changed_update_index
        return partial(self.when_event_recorded_start_runs, topic)

    def waits_for(self, topic: str, domain_event: Any) -> bool:
        """Trigger events wait for the triggers read model (the index is refreshed from it),
        and so does everything until the index is loaded; an event that names its reader (a
        task created, say) needs no read model, so it is matched without waiting for the
        projections to catch up; any other event waits for the event feed's owners."""
        if topic.startswith("trigger.") or self._index is None:
            return True
        return self._named(domain_event) is None

    def prepare(self, events: Sequence[tuple[str, Any]]) -> None:
        """Before a batch: load the index, read the readers of the events it may concern in
        one query, forget the flows loaded for the batch before, and read in one query each
        the triggers the batch's events select that were not loaded yet, and their flows
        (1,000 triggers seen for the first time: two round trips, not a thousand)."""
        self._flows.clear()
        self._envelopes.clear()
        index = self._load()
        concerned = [e for t, e in events if index.for_type(t)]
        self._readers = {}
        for event in concerned:
            if (named := self._named(event)) is not None:
                self._readers.setdefault(event.originator_id, named)
        wanted = list(dict.fromkeys(e.originator_id for e in concerned) - self._readers.keys())
        found = self._source.readers_of(wanted) if wanted else {}
        self._readers.update({aggregate_id: found.get(aggregate_id) for aggregate_id in wanted})
        selected: set[UUID] = set()
        for topic, event in events:
            candidates = self._candidates(topic, event)
            if candidates is not None:
                envelope = self._envelope(event)
                self._envelopes[(event.originator_id, event.originator_version)] = envelope
                selected.update(entry.id for entry in candidates.selected(envelope))
        if missing := selected - self._triggers.keys():
            self._triggers.update(self.ledger.load_many(Trigger, missing))
        self._flows.preload(self._triggers[i].flow_id for i in selected if i in self._triggers)

    def when_trigger_changed_update_index(self, event: Any, reaction: Reaction) -> None:
        """Keep the index current: a trigger created, changed, toggled or deleted."""
        if isinstance(event, Trigger.Created) and event.kind != TriggerType.EVENT_BASED:
            return  # a new schedule: never in the index
        index = self._load()
        index.drop(event.originator_id)
        index.put(self._source.event_triggers(event.originator_id))
        self._triggers.pop(event.originator_id, None)

    def when_event_recorded_start_runs(self, topic: str, event: Any, reaction: Reaction) -> None:
        """Start the run of every trigger of the event's reader that it matches."""
        candidates = self._candidates(topic, event)
        if candidates is None:
            return
        key = (event.originator_id, event.originator_version)
        envelope = self._envelopes.pop(key, None) or self._envelope(event)
        for entry in candidates.selected(envelope):
            self._fire(entry, reaction)
        self._note_filtered(candidates, envelope, event.timestamp, reaction)

    def candidates(self, envelope: Mapping[str, Any], reader: UUID) -> list[Entry]:
        """The triggers of ``reader`` an event matches, pattern and filter: the matching cost
        of one event, which the benchmark measures."""
        found = self._load().for_type(envelope["type"]).get(reader)
        return found.selected(envelope) if found is not None else []

    # --- helpers -------------------------------------------------------------------------

    def _named(self, event: Any) -> UUID | None:
        return self._named_by(event) if self._named_by is not None else None

    def _candidates(self, topic: str, event: Any) -> Candidates | None:
        """The triggers of the event's reader whose pattern its type matches (None: none)."""
        owners = self._load().for_type(topic)
        if not owners:
            return None
        if event.originator_id in self._readers:
            reader = self._readers[event.originator_id]
        else:  # not read ahead (the index changed within the batch)
            reader = self._named(event)
            if reader is None:
                reader = self._source.readers_of([event.originator_id]).get(event.originator_id)
            self._readers[event.originator_id] = reader
        return owners.get(reader) if reader is not None else None

    def _note_filtered(
        self, candidates: Candidates, envelope: Mapping[str, Any], at: datetime, reaction: Reaction
    ) -> None:
        if candidates.noted_at is not None and at - candidates.noted_at < FILTERED_EVERY:
            return
        candidates.noted_at = at
        event_id = UUID(reaction.cause)
        for entry in candidates.refused(envelope):
            last = self._filtered.get(entry.id)
            if last is None or at - last >= FILTERED_EVERY:
                self._filtered[entry.id] = at
                skipped = TriggerOutcome.skipped(
                    entry, "filtered", str(event_id), event_id=event_id
                )
                reaction.submit_once(skipped)

    def _fire(self, entry: Entry, reaction: Reaction) -> None:
        trigger = self._trigger(entry.id)
        if trigger is not None and trigger.enabled and not trigger.deleted:
            event_id = UUID(reaction.cause)
            run_id = event_run_id(trigger.id, event_id)
            commands = self.ledger[TriggerCommands]
            flow = self._flows.of(trigger)
            commands.fire(reaction, trigger, run_id, WORD, flow=flow, event_id=event_id)

    def _trigger(self, trigger_id: UUID) -> Trigger | None:
        found = self._triggers.get(trigger_id)
        if found is None:
            try:
                found = self.ledger.load(Trigger, trigger_id, TriggerNotFound)
            except TriggerNotFound:
                return None
            self._triggers[trigger_id] = found
        return found

    def _load(self) -> TriggerIndex:
        if self._index is None:
            index = TriggerIndex(self._pattern)
            index.put(self._source.event_triggers())
            self._index = index
        return self._index
