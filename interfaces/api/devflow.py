"""DevFlow's error bodies on DevFlow's paths (``003:L43-53``, ``L98-104``, ``L159-165``,
``L219-227``, ``L268-274``): ``{"error": "<title>", "message", "statusCode", "timestamp"}`` plus
the built ``detail``/``code``; a missing field is 400 "Missing required fields" with ``details``
(DevFlow's camelCase names), not 422.

A route class rather than app-wide handlers: only the routes declared with it answer this way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic.alias_generators import to_camel

from application.error import InvalidToken
from domain.agent import AgentExists, AgentNotFound
from domain.dispatch import ProgressOutOfRange
from domain.error import DomainError
from domain.task import TaskNotFound
from interfaces.api import errors

log = logging.getLogger(__name__)
NAMES = {"agent_key": "agentId", "agent_version": "version"}
TITLES: dict[type[Exception], str] = {
    AgentExists: "Agent with this ID already exists for user",
    AgentNotFound: "Agent not found",
    TaskNotFound: "Task not found",
    ProgressOutOfRange: "Progress must be between 0 and 1",
}


class MissingFields(DomainError):
    """DevFlow's required fields that a body lacks."""

    def __init__(self, names: list[str]) -> None:
        super().__init__("Missing required fields: " + ", ".join(names))
        self.names = names


def body(
    status: int, title: str, message: str, code: str, retry_after: int | None = None, **extra: Any
) -> JSONResponse:
    """DevFlow's error body (with the built fields beside it)."""
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    content = {
        "error": title,
        "message": message,
        "statusCode": status,
        "timestamp": now,
        "detail": message,
        "code": code,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return JSONResponse(content, status_code=status, headers=headers)


def _field(loc: tuple[Any, ...]) -> str | None:
    parts = [str(p) for p in loc if p != "body" and not isinstance(p, int)]
    if not parts:
        return None
    return NAMES.get(parts[0], to_camel(parts[0]))


def validation(error: RequestValidationError) -> JSONResponse:
    """400 with the fields in DevFlow's spelling."""
    problems = error.errors()
    missing = [_field(tuple(p.get("loc", ()))) for p in problems if p.get("type") == "missing"]
    names = [n for n in missing if n]
    if names and len(names) == len(problems):
        return body(
            400,
            "Missing required fields",
            "Missing required fields",
            "MISSING_FIELDS",
            details=names,
        )
    fields = [n for n in (_field(tuple(p.get("loc", ()))) for p in problems) if n]
    first = problems[0].get("msg", "invalid request") if problems else "invalid request"
    return body(400, "Invalid request", str(first), "VALIDATION_ERROR", details=fields)


def known(error: Exception, unauthorized: str) -> JSONResponse | None:
    """DevFlow's body for a known error (None: not one the status table knows)."""
    if isinstance(error, MissingFields):
        return body(
            400, "Missing required fields", str(error), "MISSING_FIELDS", details=error.names
        )
    found = next((errors.STATUS[c] for c in type(error).__mro__ if c in errors.STATUS), None)
    if found is None:
        return None
    status, code = found
    title = next((t for c, t in TITLES.items() if isinstance(error, c)), None)
    if isinstance(error, InvalidToken):
        title = unauthorized
    message = str(error) if status != 503 else "A dependency is unavailable; retry shortly"
    wait = error.retry_after if isinstance(error, errors.TooManyAttempts) else None
    return body(status, title or code, message, code, wait)


class DevFlowRoute(APIRoute):
    """A route that answers errors in DevFlow's shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The usual handler, with DevFlow's error bodies."""
        handler = super().get_route_handler()
        # DevFlow names the agent token on the agent's own calls (commands, heartbeat, reports);
        # reading a task is a user's call too: its 401 is the plain one.
        reports = ("/commands", "/heartbeat", "/progress", "/complete", "/fail")
        agent_path = self.path.endswith(reports)
        execute = self.path.endswith("/execute")
        unauthorized = (
            "Agent token expired or invalid" if agent_path else "Invalid or expired token"
        )

        async def devflow_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                return validation(error)
            except Exception as error:
                answer = known(error, unauthorized)
                if answer is None and execute:
                    log.exception("execute failed")
                    answer = body(500, "Failed to execute workflow", str(error), "INTERNAL_ERROR")
                if answer is None:
                    raise
                return answer

        return devflow_handler
