"""The triggers feature: schedules (time-based triggers) and event triggers that start a flow's
runs by themselves, the scheduler and the trigger matcher (reactors), and the seeds' spellings
(flow8's /api/schedules)."""

from typing import Any

from application.scheduler import Scheduler
from application.trigger import TriggerCommands
from application.trigger_matcher import TriggerMatcher
from domain.trigger import Trigger
from domain.trigger_outcome import TriggerOutcome
from interfaces.api.alias import Alias
from interfaces.api.presenters import FLOW8, FLOW8_LIST
from interfaces.api.routes import schedules, triggers
from interfaces.feature import Feature, QueryLookup, ReadModel, Scope
from projections.envelope import envelope
from projections.event_alias import EventMatcher
from projections.event_feed import type_matcher
from projections.readers import ReaderRule, ReaderRules
from projections.trigger import TriggerProjection, TriggerQueries

FLOWS = ("flows:read", "flows:write")


class TriggerPattern(EventMatcher):
    """An event trigger's pattern with the feed's matcher, the seeds' derived names included
    (``task.completed`` matches a status change to completed), and the recorded types that can
    produce a match (the matcher reacts to those only)."""

    def __init__(self, pattern: str) -> None:
        super().__init__([pattern])
        self._recorded = type_matcher(self.patterns)
        self._derived_from = frozenset(rule[0] for rule in self.derived)

    def may_match(self, event_type: str) -> bool:
        """True when some event of that recorded type can match, whatever its data."""
        return event_type in self._derived_from or self._recorded.fullmatch(event_type)


def matcher(ledger: Any, query: QueryLookup) -> TriggerMatcher:
    """The trigger matcher over the triggers read model, with the feed's envelope and patterns."""
    return TriggerMatcher(
        ledger,
        query(TriggerQueries),
        lambda event: envelope(event, None),
        TriggerPattern,
        named_by=query(ReaderRules).reader_named_by,
    )


FEATURE = Feature(
    name="triggers",
    handlers=(TriggerCommands,),
    read_models=(ReadModel(lambda rules: TriggerProjection(), TriggerQueries),),
    routers=(schedules.router, triggers.router),
    scopes=(Scope("/api/v1/schedules", *FLOWS), Scope("/api/v1/triggers", *FLOWS)),
    readers=(
        ReaderRule(Trigger, lambda created: created.owner_id),
        ReaderRule(TriggerOutcome, lambda created: created.owner_id),
    ),
    reactors=(lambda ledger, query: Scheduler(ledger), matcher),
    aliases=(
        Alias("GET", "/api/schedules", "/api/v1/schedules", FLOW8_LIST),  # flow8
        Alias("POST", "/api/schedules", "/api/v1/schedules", FLOW8),
        Alias("PUT", "/api/schedules/{schedule_id}", "/api/v1/schedules/{schedule_id}", FLOW8),
        Alias("DELETE", "/api/schedules/{schedule_id}", "/api/v1/schedules/{schedule_id}", FLOW8),
    ),
)
