"""docs/events.md names every event type the code records (issue 12: the docs match the code)."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import domain

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def recorded_types() -> set[str]:
    found: set[str] = set()
    for module in pkgutil.walk_packages(domain.__path__, "domain."):
        for value in vars(importlib.import_module(module.name)).values():
            pending = [value] if isinstance(value, type) else []
            while pending:
                kind = pending.pop()
                topic = getattr(kind, "TOPIC", None)
                if isinstance(topic, str) and "." in topic:
                    found.add(topic)
                pending.extend(v for v in vars(kind).values() if isinstance(v, type))
    return found


def test_every_event_type_is_in_docs_events_md():
    text = DOC.read_text()
    types = recorded_types()
    assert len(types) >= 60
    assert sorted(t for t in types if f"`{t}`" not in text) == []
