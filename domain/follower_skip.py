"""FollowerSkip: an operator's decision that one follower skips one event it cannot apply.

Recorded as an event so that the decision is audited like any other change; the follower itself
reads the decision from ``ledgerflow_skips`` (it is stuck before the position where this event
will be recorded, so it cannot wait to read it from the log).
"""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.error import InvalidValue
from domain.value import bounded_text

SKIP_NAMESPACE = UUID("7c1f4a9e-3b2d-4e8a-b6c5-0d9e8f7a6b51")
REASON_MAX = 500


class FollowerSkip(Aggregate):
    """One event one follower (a read model, the relay, a reactor) is told to skip."""

    TOPIC = "follower_skip"

    class Created(Aggregate.Created):
        """An operator told a follower to skip the event at a position, and why."""

        TOPIC = "follower.event_skipped"
        follower: str
        position: int
        event_type: str
        reason: str

    def __init__(self, follower: str, position: int, event_type: str, reason: str) -> None:
        self.follower = follower
        self.position = position
        self.event_type = event_type
        self.reason = reason

    @staticmethod
    def create_id(follower: str, position: int) -> UUID:
        """One decision per follower and position: deciding again collides on version 1."""
        return uuid5(SKIP_NAMESPACE, f"{follower}:{position}")

    @classmethod
    def record(cls, follower: str, position: int, event_type: str, reason: str) -> FollowerSkip:
        """Check the decision and record it."""
        if position < 1:
            raise InvalidValue("position", "must be a position of the log (1 or more)")
        return cls._create(
            cls.Created,
            id=cls.create_id(follower, position),
            follower=bounded_text("follower", follower, max_length=200),
            position=position,
            event_type=event_type,
            reason=bounded_text("reason", reason, max_length=REASON_MAX),
        )
