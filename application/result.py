"""What a command returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from eventsourcing.domain import Aggregate

A = TypeVar("A", bound=Aggregate)


@dataclass(frozen=True)
class Written(Generic[A]):
    """The state of an aggregate after a command, and the log position that recorded it."""

    aggregate: A
    position: int

    @property
    def version(self) -> int:
        """The aggregate's version: its ETag."""
        return int(self.aggregate.version)
