"""The trigger matcher: the reactor that starts runs for the events event triggers ask for.

It follows the whole log. Its index (the enabled event triggers, by owner) is loaded from the
triggers read model once and kept current by the trigger events it meets on the way, so an event
costs one look at the union of every pattern, and only an event some pattern wants costs the
lookup of its reader. A trigger sees only the events its owner may read (the event feed's rule):
it is looked up among its reader's triggers only.

A matching event whose envelope passes the trigger's filter starts the run
``uuid5(trigger_id, event_id)`` with ``trigger.fired``, in one commit: a redelivered or replayed
event collides on that id and starts nothing more. An event that matches the pattern but not the
filter is recorded as ``trigger.skipped`` (``filtered``) at most once a minute per trigger (so a
busy pattern with a narrow filter does not write an outcome per event).

Trigger events themselves (configuration and outcomes) never start a run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from application.reactor import Reaction, Reactor
from application.trigger import TriggerCommands
from domain.trigger import Trigger, TriggerNotFound, event_run_id
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
Matches = Callable[[str, Mapping[str, Any]], bool]


class TriggerSource(Protocol):
    """What the matcher reads (the triggers read model and the event feed's owners)."""

    def event_triggers(self, trigger_id: UUID | None = None) -> list[dict[str, Any]]: ...

    def reader_of(self, aggregate_id: UUID) -> UUID | None: ...


@dataclass(frozen=True)
class Entry:
    """One enabled event trigger in the index."""

    id: UUID
    owner_id: UUID
    pattern: str
    matches: Matches
    filter: Mapping[str, Any]


def resolve(envelope: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path of an envelope (``data.to_status``); a missing path is a
    value nothing equals."""
    value: Any = envelope
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


_MISSING = object()


def passes(envelope: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """True when every dotted path of the filter has the value it asks for."""
    return all(resolve(envelope, path) == value for path, value in wanted.items())


class TriggerMatcher(Reactor):
    """Starts the runs of the event triggers an event matches."""

    name = "trigger-matcher"
    needs = ("triggers", "event_feed")

    def __init__(
        self,
        ledger: Any,
        source: TriggerSource,
        envelope: Callable[[Any], dict[str, Any]],
        matcher: Callable[[list[str]], Matches],
    ) -> None:
        super().__init__(ledger)
        self._source = source
        self._envelope = envelope
        self._matcher = matcher
        self._index: dict[UUID, dict[UUID, Entry]] | None = None
        self._any: Matches = lambda kind, data: False
        self._filtered: dict[UUID, datetime] = {}  # when each trigger last noted "filtered"

    def handles(self, topic: str) -> bool:
        """Every event: any type may be what a trigger waits for."""
        return True

    def reaction_to(self, topic: str) -> Callable[[Any, Reaction], None]:
        """Trigger events update the index; outcomes do nothing; every other event is matched."""
        if topic in OUTCOME_TOPICS:
            return lambda event, reaction: None
        if topic.startswith("trigger."):
            return self.when_trigger_changed_update_index
        return self.when_event_recorded_start_runs

    def when_trigger_changed_update_index(self, event: Any, reaction: Reaction) -> None:
        """Keep the index current: a trigger created, changed, toggled or deleted."""
        index = self._load()
        for entries in index.values():
            entries.pop(event.originator_id, None)
        for row in self._source.event_triggers(event.originator_id):
            self._add(index, row)
        self._rebuild_union(index)

    def when_event_recorded_start_runs(self, event: Any, reaction: Reaction) -> None:
        """Start the run of every trigger of the event's reader that it matches."""
        if not self._load():
            return
        envelope = self._envelope(event)
        if not self._any(envelope["type"], envelope.get("data") or {}):
            return
        reader = self._source.reader_of(event.originator_id)
        for entry in self.candidates(envelope, reader):
            self._fire(entry, envelope, event.timestamp, reaction)

    def candidates(self, envelope: Mapping[str, Any], reader: UUID | None) -> list[Entry]:
        """The triggers of ``reader`` whose pattern the event matches (the filter is tested
        next): the matching cost of one event, which the benchmark measures."""
        kind, data = envelope["type"], envelope.get("data") or {}
        entries = self._load().get(reader, {}) if reader else {}
        return [entry for entry in list(entries.values()) if entry.matches(kind, data)]

    # --- helpers -------------------------------------------------------------------------

    def _fire(
        self, entry: Entry, envelope: Mapping[str, Any], at: datetime, reaction: Reaction
    ) -> None:
        event_id = UUID(reaction.cause)
        if not passes(envelope, entry.filter):
            last = self._filtered.get(entry.id)
            if last is None or at - last >= FILTERED_EVERY:
                self._filtered[entry.id] = at
                cause = str(event_id)
                reaction.submit_once(
                    TriggerOutcome.skipped(entry, "filtered", cause, event_id=event_id)
                )
            return
        try:
            trigger = self.ledger.load(Trigger, entry.id, TriggerNotFound)
        except TriggerNotFound:
            return
        if trigger.enabled and not trigger.deleted:
            run_id = event_run_id(trigger.id, event_id)
            self.ledger[TriggerCommands].fire(reaction, trigger, run_id, WORD, event_id=event_id)

    def _load(self) -> dict[UUID, dict[UUID, Entry]]:
        if self._index is None:
            index: dict[UUID, dict[UUID, Entry]] = {}
            for row in self._source.event_triggers():
                self._add(index, row)
            self._index = index
            self._rebuild_union(index)
        return self._index

    def _add(self, index: dict[UUID, dict[UUID, Entry]], row: Mapping[str, Any]) -> None:
        config = row["config"]
        pattern = config["event"]
        matches = self._matcher([pattern])
        entry = Entry(row["trigger_id"], row["owner_id"], pattern, matches, config["filter"])
        index.setdefault(entry.owner_id, {})[entry.id] = entry

    def _rebuild_union(self, index: Mapping[UUID, Mapping[UUID, Entry]]) -> None:
        patterns: list[str] = []
        for entries in index.values():
            for entry in entries.values():
                patterns.append(entry.pattern)
        self._any = self._matcher(sorted(set(patterns))) if patterns else (lambda k, d: False)
