"""The read-your-writes wait as a dependency of query routes, awaited before the route runs.

Query routes are plain ``def`` functions run in the thread pool; waiting inside them held a pool
thread for up to ``LEDGERFLOW_READ_WAIT_TIMEOUT``, so a few dozen reads of a future position from
one user stalled everyone's requests (issue 11). As an ``async`` dependency the wait happens on
the event loop, before FastAPI hands the route to a thread.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request

from interfaces.api.consistency import Consistency
from interfaces.api.deps import CurrentPrincipal, PositionHeader, PositionQuery


def settled(read_model: type) -> Any:
    """A dependency: wait until the read model of the queries class ``read_model`` (e.g.
    ``TaskQueries``) has the caller's writes and ``min_position``."""

    # The position parameters are this dependency's own (not a ``MinPosition`` sub-dependency):
    # each dependency FastAPI solves costs time on every request.
    async def wait_for_read_model(
        request: Request,
        principal: CurrentPrincipal,
        header: PositionHeader = None,
        query: PositionQuery = None,
    ) -> None:
        consistency: Consistency = request.app.state.consistency
        name = request.app.state.container.query(read_model).name
        wanted = max(header or 0, query or 0) or None
        await consistency.settle_async(name, principal.user_id, wanted)

    return Depends(wait_for_read_model)
