"""GET /health: Behflow's health answer, plus the state of the database and the followers.

It always answers within a second, whatever the database does: the checks run on two threads of
their own (not the request thread pool, which hung requests may fill), with a short deadline;
while the database is known to be down (interfaces/api/availability.py) it answers 503 at once.
A follower stuck on an event it cannot apply says which, where and why.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from psycopg import sql
from pydantic import BaseModel, Field

from interfaces.api.alias import Alias
from interfaces.api.deps import ContainerDep
from interfaces.container import Container
from interfaces.version import VERSION
from projections.schema import stuck_followers, tracked_positions

router = APIRouter(tags=["health"])
SERVICE = "ledgerflow"  # 002: "Returns status, service name, version"
ALIASES = (Alias("GET", "/api/v1/health", "/health"),)  # 002's base is /api/v1
DEADLINE_SECONDS = 0.8
_checking = ThreadPoolExecutor(max_workers=2, thread_name_prefix="health")


class HealthOut(BaseModel):
    """Liveness and what the service depends on."""

    status: str = Field(
        description="healthy when every check passes, else degraded", examples=["healthy"]
    )
    service: str = Field(
        default="ledgerflow", description="the service's name", examples=["ledgerflow"]
    )  # 002: "Returns status, service name, version"
    version: str = Field(description="the running version (the package's)", examples=["0.1.0"])
    timestamp: datetime = Field(
        description="when the answer was made (UTC)", examples=["2026-12-01T10:00:00Z"]
    )
    checks: dict[str, Any] = Field(
        description="each dependency's state", examples=[{"database": "ok"}]
    )


def _checks(built: Container) -> dict[str, Any]:
    events = built.ledger.recorder.events_table_name  # type: ignore[attr-defined]
    with built.pool.connection(timeout=DEADLINE_SECONDS / 2) as conn:
        positions = tracked_positions(conn)
        stuck = stuck_followers(conn)
        found = conn.execute(
            sql.SQL("SELECT max(notification_id) FROM {}").format(sql.Identifier(events))
        ).fetchone()
    head = int(found[0] or 0) if found else 0
    followers: dict[str, Any] = {
        name: {"position": position, "lag": max(0, head - position)}
        for name, position in positions.items()
    }
    for name, event in stuck.items():  # an event it cannot apply: say which, where and why
        followers[name]["stuck"] = {
            "position": event.position,
            "type": event.type,
            "error": event.error,
        }
    return {"database": "ok", "head_position": head, "projections": followers}


def _unhealthy(now: datetime, reason: str) -> JSONResponse:
    body = HealthOut(
        status="unhealthy",
        service=SERVICE,
        version=VERSION,
        timestamp=now,
        checks={"database": reason},
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=503)


@router.get("/health", responses={503: {"model": HealthOut, "description": "Unhealthy"}})
async def health(request: Request, built: ContainerDep) -> HealthOut:
    """Is the API up, and can it reach its database? Answers within a second."""
    now = datetime.now(UTC)
    availability = getattr(request.app.state, "availability", None)
    if availability is not None and availability.down:
        return _unhealthy(now, "unavailable: reconnecting")  # type: ignore[return-value]
    checking = asyncio.get_running_loop().run_in_executor(_checking, _checks, built)
    try:
        checks = await asyncio.wait_for(checking, DEADLINE_SECONDS)
    except Exception as error:  # any failure to reach the database in time means unhealthy
        if availability is not None and not isinstance(error, TimeoutError):
            availability.mark_down(error)
        return _unhealthy(now, f"unavailable: {type(error).__name__}")  # type: ignore[return-value]
    return HealthOut(
        status="healthy", service=SERVICE, version=VERSION, timestamp=now, checks=checks
    )
