"""What features contribute to the analytics and export endpoints.

The endpoints (``interfaces/api/routes/analytics.py``, ``exports.py``) know no feature: each
feature declares ``Analytics`` entries (a section of the overview, the agents table, the workers
table) and ``Export`` types in its ``Feature`` (tasks, flows for runs, agents for agents and
workers); a section no feature fills answers its documented shape, as zeros.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

QueryLookup = Callable[[type], Any]  # a read model's queries (or a feature's handlers) by class

# The overview's sections before any feature fills them (the contract's fields, as zeros).
OVERVIEW_EMPTY: dict[str, dict[str, Any]] = {
    "tasks": {
        "created": 0,
        "completed": 0,
        "failed": 0,
        "completion_rate": 0.0,
        "avg_completion_seconds": None,
    },
    "runs": {"started": 0, "succeeded": 0, "failed": 0, "cancelled": 0, "success_rate": 0.0},
    "agents": {"total": 0, "online": 0},
    "approvals": {"pending": 0, "approved": 0, "rejected": 0},
}


@dataclass(frozen=True)
class Window:
    """Whose numbers (None: everyone's, for admins) over which UTC days."""

    owner_id: UUID | None
    first: date
    last: date

    @property
    def days(self) -> int:
        """How many days the window spans."""
        return (self.last - self.first).days + 1


@dataclass(frozen=True)
class Analytics:
    """A feature's contribution: ``where`` is ``overview.<section>``, ``agents`` or ``workers``;
    ``read(lookup, window)`` gives the section's dict or the table's rows."""

    where: str
    read: Callable[[QueryLookup, Window], Any]
    read_model: str | None = None  # waited for, so the caller sees their own writes


@dataclass(frozen=True)
class Export:
    """An export type (``?type=``): its columns and its rows, streamed (never all in memory)."""

    type: str
    columns: tuple[str, ...]
    rows: Callable[[QueryLookup, Window], Iterable[Sequence[Any]]]
    read_model: str | None = None  # waited for, so the caller sees their own writes
