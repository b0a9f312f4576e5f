"""GET /ready for load balancers, and the admin's detail GET /api/v1/settings/health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from interfaces.api.deps import Admin, ContainerDep
from interfaces.api.errors import AUTHED, FORBIDDEN
from interfaces.container import Container
from projections.schema import stuck_followers, tracked_positions

router = APIRouter(tags=["health"])


def _positions(built: Container) -> tuple[int, dict[str, dict[str, Any]]]:
    """The head and every follower's position and lag (raises when the database is down)."""
    with built.pool.connection(timeout=2) as conn:
        positions = tracked_positions(conn)
        stuck = stuck_followers(conn)
    head = max(built.ledger.recorder.max_notification_id() or 0, *positions.values(), 0)
    found: dict[str, dict[str, Any]] = {
        name: {"position": position, "lag": max(0, head - position)}
        for name, position in sorted(positions.items())
    }
    for name, event in stuck.items():
        found[name]["stuck"] = {
            "position": event.position,
            "type": event.type,
            "error": event.error,
        }
    return head, found


READY = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "description": "ready", "examples": ["ready"]},
        "head_position": {
            "type": "integer",
            "description": "the last recorded log position",
            "examples": [42],
        },
    },
}
DETAIL = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "description": "healthy or unhealthy"},
        "checks": {"type": "object", "description": "each dependency and follower, in detail"},
    },
}


@router.get(
    "/ready",
    responses={
        200: {"description": "Ready", "content": {"application/json": {"schema": READY}}},
        503: {"description": "Not ready: `failed` names the failing check"},
    },
)
def ready(built: ContainerDep) -> JSONResponse:
    """Ready for traffic: the database answers and no follower lags more than
    ``LEDGERFLOW_READY_MAX_LAG`` events. 503 names the failing check."""
    try:
        head, followers = _positions(built)
    except Exception as error:  # any failure to reach the database means not ready
        down = {"status": "not_ready", "failed": "database", "detail": type(error).__name__}
        return JSONResponse(down, status_code=503)
    bound = built.settings.ready_max_lag
    behind = {name: f["lag"] for name, f in followers.items() if f["lag"] > bound}
    if behind:
        body = {"status": "not_ready", "failed": "projections", "lagging": behind, "bound": bound}
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ready", "head_position": head})


@router.get(
    "/api/v1/settings/health",
    responses={
        **AUTHED,
        200: {"description": "The details", "content": {"application/json": {"schema": DETAIL}}},
        403: FORBIDDEN,
    },
)
def settings_health(built: ContainerDep, _: Admin) -> JSONResponse:
    """Every dependency and follower, in detail (002's "System health check")."""
    checks: dict[str, Any] = {}
    try:
        head, followers = _positions(built)
        checks["database"] = "ok"
        checks["head_position"] = head
    except Exception as error:  # reported, not raised: this page exists for bad days
        followers = {}
        checks["database"] = f"unavailable: {type(error).__name__}"
    for follower in [*built.runners, *built.reactors]:
        name = getattr(getattr(follower, "projection", None), "name", None) or follower.name
        entry = followers.setdefault(name, {"position": 0, "lag": None})
        entry["in_this_process"] = True
        entry["active"] = bool(getattr(follower, "active", False))
        entry["last_error"] = getattr(follower, "last_error", None)
    checks["projections"] = followers
    checks["relay"] = followers.get("relay", "not running")
    checks["bus"] = built.settings.bus_kind
    checks["redis"] = _redis(built)
    settings = built.settings
    runs_here = settings.run_projections and settings.webhook_dispatcher
    checks["webhook_dispatcher"] = "in this process" if runs_here else "elsewhere"
    checks.update(scheduler="not_configured", minio="not_configured", mail="not_configured")
    healthy = checks["database"] == "ok" and not checks["redis"].startswith("unavailable")
    status = "healthy" if healthy else "unhealthy"
    return JSONResponse({"status": status, "checks": checks}, status_code=200)


def _redis(built: Container) -> str:
    kind = built.settings.bus_kind
    if kind == "local":
        return "in-process bus"
    if kind == "postgres" and not built.settings.redis_url:
        return "not_configured (the live bus is PostgreSQL's LISTEN/NOTIFY)"
    import redis

    try:
        client = redis.Redis.from_url(built.settings.redis_url or "", socket_timeout=2)
        client.ping()
        client.close()
    except redis.RedisError as error:
        return f"unavailable: {type(error).__name__}"
    return "ok"
