"""The trigger matcher's index: which enabled event triggers an event may concern, found in memory.

Entries are grouped by the event type (the stored topic, the envelope's ``type``) their pattern can
match, then by owner, then by the value of one path of their filter. So a type no pattern wants
costs one dictionary look-up (the runner passes such batches over in memory), and an event costs
one look-up per filter path of its reader's candidates, whatever the number of triggers: the
pattern (and the data an alias asks for) and the whole filter are tested only on the entries the
look-up returns. A pattern is mapped to the types that can produce it, the seeds' aliases
included: ``task.completed`` is also a ``task.status_changed`` to ``completed``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID


class Pattern(Protocol):
    """One trigger's event type pattern, as the composition root builds it."""

    def matches(self, event_type: str, data: Mapping[str, Any]) -> bool:
        """True when an event of that type and data matches (aliases included)."""
        ...

    def may_match(self, event_type: str) -> bool:
        """True when some event of that type can match (whatever its data)."""
        ...


@dataclass(frozen=True)
class Entry:
    """One enabled event trigger in the index."""

    id: UUID
    owner_id: UUID
    pattern: Pattern
    filter: Mapping[str, Any]


def resolve(envelope: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path of an envelope (``data.to_status``); a missing path is a
    value nothing equals."""
    value: Any = envelope
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return MISSING
        value = value[part]
    return value


MISSING = object()


def passes(envelope: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """True when every dotted path of the filter has the value it asks for."""
    return all(resolve(envelope, path) == value for path, value in wanted.items())


def _key(entry: Entry) -> tuple[str, Hashable] | None:
    """The filter path (and value) an entry is found by: its first with a hashable value."""
    for path in sorted(entry.filter):
        value = entry.filter[path]
        if isinstance(value, Hashable):
            return path, value
    return None


@dataclass
class Candidates:
    """The entries of one owner whose pattern can match one event type."""

    entries: list[Entry]
    by_value: dict[str, dict[Hashable, list[Entry]]] = field(default_factory=dict)
    rest: list[Entry] = field(default_factory=list)  # no filter, or no hashable value in it
    noted_at: datetime | None = None  # when the filtered entries were last noted

    def __post_init__(self) -> None:
        for entry in self.entries:
            key = _key(entry)
            if key is None:
                self.rest.append(entry)
            else:
                self.by_value.setdefault(key[0], {}).setdefault(key[1], []).append(entry)

    def selected(self, envelope: Mapping[str, Any]) -> list[Entry]:
        """The entries this event matches, pattern and filter."""
        found = list(self.rest)
        for path, table in self.by_value.items():
            value = resolve(envelope, path)
            if isinstance(value, Hashable):
                found += table.get(value, ())
        kind, data = envelope["type"], envelope.get("data") or {}
        return [e for e in found if e.pattern.matches(kind, data) and passes(envelope, e.filter)]

    def refused(self, envelope: Mapping[str, Any]) -> list[Entry]:
        """The entries whose pattern this event matches but whose filter refuses it (a scan
        of every entry: the matcher asks at most once a minute)."""
        kind, data = envelope["type"], envelope.get("data") or {}
        return [
            e
            for e in self.entries
            if e.pattern.matches(kind, data) and not passes(envelope, e.filter)
        ]


class TriggerIndex:
    """The enabled event triggers, and for each event type the candidates by owner."""

    def __init__(self, pattern: Callable[[str], Pattern]) -> None:
        self._pattern = pattern
        self._patterns: dict[str, Pattern] = {}  # one per distinct pattern text
        self._entries: dict[UUID, Entry] = {}
        self._by_type: dict[str, dict[UUID, Candidates]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Add (or replace) triggers from rows of the triggers read model."""
        rows = list(rows)
        if not rows:
            return
        for row in rows:
            config = row["config"]
            text = config["event"]
            if text not in self._patterns:
                self._patterns[text] = self._pattern(text)
            entry = Entry(
                row["trigger_id"], row["owner_id"], self._patterns[text], config["filter"]
            )
            self._entries[entry.id] = entry
        self._by_type.clear()

    def drop(self, trigger_id: UUID) -> None:
        """Forget a trigger (changed, disabled or deleted: ``put`` adds it back if enabled)."""
        if self._entries.pop(trigger_id, None) is not None:
            self._by_type.clear()

    def for_type(self, event_type: str) -> dict[UUID, Candidates]:
        """The candidates by owner for events of that type (empty: no pattern wants it)."""
        found = self._by_type.get(event_type)
        if found is None:
            by_owner: dict[UUID, list[Entry]] = {}
            for entry in self._entries.values():
                if entry.pattern.may_match(event_type):
                    by_owner.setdefault(entry.owner_id, []).append(entry)
            found = {owner: Candidates(entries) for owner, entries in by_owner.items()}
            if len(self._by_type) < 4096:  # event types are few; never grow without bound
                self._by_type[event_type] = found
        return found
