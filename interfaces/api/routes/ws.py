"""WebSocket endpoints: ``/ws`` and Behflow's ``/ws/{session_id}`` (live events, resumable)."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from interfaces.api import live
from interfaces.api.alias import Alias
from interfaces.api.metrics import WS_CONNECTIONS

router = APIRouter(tags=["live"])
# flow8's /api/ws and 002's /api/v1/ws (its base is /api/v1): the same protocol.
ALIASES = (Alias("WS", "/api/ws", "/ws"), Alias("WS", "/api/v1/ws", "/ws"))


@router.websocket("/ws")
@router.websocket("/api/ws")  # flow8's "Real-time execution events" (004:L132)
async def events_socket(websocket: WebSocket) -> None:
    """Live events: authenticate, subscribe with type patterns and an optional from_position."""
    with WS_CONNECTIONS.track_inprogress():
        await live.serve(websocket, None)


@router.websocket("/ws/{session_id}")
async def session_socket(websocket: WebSocket, session_id: str) -> None:
    """Behflow's per-session socket: the same protocol as ``/ws``."""
    with WS_CONNECTIONS.track_inprogress():
        await live.serve(websocket, session_id)
