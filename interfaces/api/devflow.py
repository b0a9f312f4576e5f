"""DevFlow's error bodies on its seed-native route ``POST /api/workflows/execute`` (``003``,
CONTRACT A.5), which has no canonical twin to alias: the DevFlow presenter's errors, as on every
DevFlow alias (``{error: <title>, message, statusCode, timestamp}`` plus ``detail``/``code``;
400 with ``details`` for an invalid body), and DevFlow's "Failed to execute workflow" for an
unexpected failure."""

from __future__ import annotations

from typing import Any

from interfaces.api.alias import Exchange
from interfaces.api.presenters import devflow_error
from interfaces.api.seed_route import seed_route


def execute_error(status: int, body: dict[str, Any], exchange: Exchange) -> tuple[int, Any]:
    """DevFlow's error; a 500 is its "Failed to execute workflow" (003:L219-227)."""
    status, out = devflow_error(status, body, exchange)
    if status == 500:
        out["error"] = "Failed to execute workflow"
    return status, out


DevFlowRoute = seed_route(execute_error)
