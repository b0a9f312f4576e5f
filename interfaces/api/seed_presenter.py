"""flow8's error form for its seed-native route ``POST /api/plays/:id/approve`` (004:L94),
which has no canonical twin to alias: ``{"error": CODE, "message": ..., "statusCode": n}``
(004:L55-57), and its path id, a UUID or a 404. Every other seed path of flows and runs is an
alias (``interfaces/features/flows.py``, ``interfaces/api/flow_presenters.py``).
"""

from __future__ import annotations

from uuid import UUID

from domain.error import NotFound
from interfaces.api.flow_presenters import flow8_missing
from interfaces.api.seed_route import seed_route


def seed_uuid(value: str, missing: type[NotFound]) -> UUID:
    try:
        return UUID(value.removeprefix("flow-").removeprefix("run-"))
    except ValueError:
        raise missing(value) from None


Flow8Route = seed_route(flow8_missing)  # the same error shape as flow8's aliases
