"""GET /health: Behflow's health answer, plus the state of the database and the read models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from interfaces.api.deps import ContainerDep
from interfaces.api.schemas import HealthOut
from interfaces.container import Container
from projections.schema import stuck_followers, tracked_positions

router = APIRouter(tags=["health"])
VERSION = "1.0.0"


def _checks(built: Container) -> dict[str, Any]:
    with built.pool.connection(timeout=2) as conn:
        positions = tracked_positions(conn)
        stuck = stuck_followers(conn)
    head = built.ledger.recorder.max_notification_id() or 0
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


@router.get("/health", responses={503: {"model": HealthOut, "description": "Unhealthy"}})
def health(built: ContainerDep) -> HealthOut:
    """Is the API up, and can it reach its database?"""
    now = datetime.now(UTC)
    try:
        checks = _checks(built)
    except Exception as error:  # any failure to reach the database means unhealthy
        body = HealthOut(
            status="unhealthy",
            version=VERSION,
            timestamp=now,
            checks={"database": f"unavailable: {type(error).__name__}"},
        )
        return JSONResponse(body.model_dump(mode="json"), status_code=503)  # type: ignore[return-value]
    return HealthOut(status="healthy", version=VERSION, timestamp=now, checks=checks)
