"""flow8's error form for its seed-native route ``POST /api/plays/:id/approve`` (004:L94),
which has no canonical twin to alias: ``{"error": CODE, "message": ..., "statusCode": n}``
(004:L55-57), and its path id, a UUID or a 404. Every other seed path of flows and runs is an
alias (``interfaces/features/flows.py``, ``interfaces/api/flow_presenters.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any
from uuid import UUID

from fastapi import Request, Response
from fastapi.routing import APIRoute

from domain.error import NotFound

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def seed_uuid(value: str, missing: type[NotFound]) -> UUID:
    try:
        return UUID(value.removeprefix("flow-").removeprefix("run-"))
    except ValueError:
        raise missing(value) from None


class Flow8Route(APIRoute):
    """flow8's error form: ``{"error": CODE, "message": ..., "statusCode": n}`` (004:L55-57)."""

    def get_route_handler(self) -> Handler:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except Exception as error:
                response = await _answer(request, error)
            return _flow8_error(request, response)

        return handler


async def _answer(request: Request, error: Exception) -> Response:
    handlers = request.app.exception_handlers
    for cls in type(error).__mro__:
        if cls in handlers:
            answered: Response = await handlers[cls](request, error)
            return answered
    raise error


def _flow8_error(request: Request, response: Response) -> Response:
    if response.status_code < 400 or response.media_type != "application/json":
        return response
    body = json.loads(bytes(response.body))
    code = {"NOT_AUTHENTICATED": "UNAUTHORIZED"}.get(body.get("code"), body.get("code"))
    message = body.get("detail", "")
    if code == "FLOW_NOT_FOUND":
        message = f"Flow with ID {request.path_params.get('id')} not found"
    shaped = {**body, "error": code, "message": message, "statusCode": response.status_code}
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(json.dumps(shaped), response.status_code, headers, "application/json")
