"""GET /api/v1/events: the events the caller may read, in log order, paginated by position."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from interfaces.api.deps import CurrentUserId, EventFeedDep
from interfaces.api.errors import AUTHED
from interfaces.api.query import POSITION_MAX, type_patterns
from interfaces.api.read_wait import settled
from interfaces.api.schema_fields import Envelopes, HasMore, NextAfter
from projections.event_feed import EventFeed

router = APIRouter(prefix="/api/v1/events", tags=["events"])


class EventPageOut(BaseModel):
    """A page of event envelopes (see docs/events.md) and the position to continue after."""

    events: Envelopes
    next_after: NextAfter
    has_more: HasMore


@router.get("", responses=AUTHED)
def list_events(
    user_id: CurrentUserId,
    feed: EventFeedDep,
    _: Annotated[None, settled(EventFeed)],
    after: Annotated[
        int, Query(ge=0, le=POSITION_MAX, description="return events after this position")
    ] = 0,
    types: Annotated[
        list[str] | None, Query(description="type patterns, `*` as wildcard: `task.*`")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EventPageOut:
    """Events of your tasks and your account after `after`, oldest first.

    Pass `next_after` as `after` for the next page; it also moves past events you may not read.
    """
    page = feed.read(user_id, after, type_patterns(types), limit)
    return EventPageOut(events=page.events, next_after=page.next_after, has_more=page.has_more)
