"""/api/v1/analytics/*: numbers from the read models that features contribute (never the log)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from interfaces.analytics import OVERVIEW_EMPTY, Window
from interfaces.api.consistency import Consistency
from interfaces.api.deps import ConsistencyDep, ContainerDep, CurrentPrincipal
from interfaces.api.errors import AUTHED
from interfaces.container import Container
from projections.task_activity import window

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])
Days = Annotated[int, Query(ge=1, le=365, description="days up to and including today (UTC)")]
Everyone = Annotated[bool, Query(description="admins: everyone's numbers, not only yours")]


def window_of(principal: CurrentPrincipal, days: int, everyone: bool) -> Window:
    """The caller's window (everyone's only for an admin who asks)."""
    if everyone:
        principal.require_admin()
    first, last = window(days, datetime.now(UTC).date())
    return Window(None if everyone else principal.user_id, first, last)


@dataclass(frozen=True)
class Contributions:
    """What the features contribute to the analytics, for one caller and window."""

    built: Container
    consistency: Consistency
    scope: Window
    caller: UUID

    def at(self, where: str) -> list[Any]:
        """Every contribution at ``where``, once its read model has the caller's writes."""
        found = []
        for feature in self.built.features:
            for entry in feature.analytics:
                if entry.where == where:
                    if entry.read_model:
                        self.consistency.settle_own_writes(entry.read_model, self.caller)
                    found.append(entry.read(self.built.query, self.scope))
        return found

    def rows(self, where: str) -> list[Any]:
        """The contributions at ``where``, as one list of rows."""
        return [row for found in self.at(where) for row in found]


async def contributions(
    built: ContainerDep,
    principal: CurrentPrincipal,
    consistency: ConsistencyDep,
    days: Days = 7,
    all_users: Everyone = False,
) -> Contributions:
    """The caller's contributions over ``days`` (everyone's for an admin who asks)."""
    return Contributions(
        built, consistency, window_of(principal, days, all_users), principal.user_id
    )


Numbers = Annotated[Contributions, Depends(contributions)]


@router.get("/overview", responses=AUTHED)
def overview(numbers: Numbers) -> dict[str, Any]:
    """Tasks, runs, agents and approvals over the last ``days`` days."""
    scope = numbers.scope
    body: dict[str, Any] = {"days": scope.days, "since": scope.first, "until": scope.last}
    for section, empty in OVERVIEW_EMPTY.items():
        found = numbers.at(f"overview.{section}")
        body[section] = found[0] if found else empty
    return body


@router.get("/tasks/timeline", responses=AUTHED)
def tasks_timeline(numbers: Numbers) -> dict[str, Any]:
    """Tasks created, completed and failed per UTC day, every day present (zeros included)."""
    return {"days": numbers.scope.days, "points": numbers.rows("timeline")}


@router.get("/agents", responses=AUTHED)
def agents(numbers: Numbers) -> dict[str, Any]:
    """Per-agent performance (an empty list: the agents feature contributes no rows yet)."""
    return {"agents": numbers.rows("agents")}


@router.get("/workers/utilization", responses=AUTHED)
def workers_utilization(numbers: Numbers) -> dict[str, Any]:
    """Live worker resource use (an empty list: the workers feature contributes no rows yet)."""
    return {"workers": numbers.rows("workers")}
