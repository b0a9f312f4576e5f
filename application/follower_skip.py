"""Operator commands on followers: record the decision to skip an event one cannot apply."""

from __future__ import annotations

from application.context import CommandContext
from application.error import ConcurrentChange
from application.handlers import Handlers
from domain.follower_skip import FollowerSkip


class OperatorCommands(Handlers):
    """The handlers of the operations feature."""

    def skip_event(
        self, context: CommandContext, follower: str, position: int, event_type: str, reason: str
    ) -> int | None:
        """Record (once) that ``follower`` skips the event at ``position``; the position of the
        record, or None when the same decision was recorded before."""
        decision = FollowerSkip.record(follower, position, event_type, reason)
        try:
            return self._commit(context, decision)
        except ConcurrentChange:
            return None
