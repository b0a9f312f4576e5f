"""A seed's error shape on a seed-native route: a route of a seed path that has no canonical
twin to alias (DevFlow's ``POST /api/workflows/execute``, flow8's ``POST /api/plays/:id/approve``).

The route answers its errors as every route does (the app's exception handlers, the canonical
error body), then through the same presenter ``error`` function the seed's aliases use
(``interfaces/api/presenters.py``), so a seed's errors are shaped in one place.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from interfaces.api.alias import Exchange

ErrorPresenter = Callable[[int, dict[str, Any], Exchange], tuple[int, dict[str, Any]]]
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def seed_route(error: ErrorPresenter) -> type[APIRoute]:
    """A route class whose error answers pass through ``error``."""

    class SeedRoute(APIRoute):
        def get_route_handler(self) -> Handler:
            original = super().get_route_handler()

            async def handler(request: Request) -> Response:
                try:
                    response = await original(request)
                except Exception as failure:
                    response = await canonical_error(request, failure)
                return presented(request, response, error)

            return handler

    return SeedRoute


async def canonical_error(request: Request, error: Exception) -> Response:
    """The canonical answer to ``error``: the app's handler for its class."""
    handlers = request.app.exception_handlers
    for cls in type(error).__mro__:
        if cls in handlers:
            answered: Response = await handlers[cls](request, error)
            return answered
    raise error


def presented(request: Request, response: Response, error: ErrorPresenter) -> Response:
    """An error answer reshaped by ``error``; any other answer as it is."""
    if response.status_code < 400 or response.media_type != "application/json":
        return response
    exchange = Exchange(request.scope, dict(request.query_params))
    status, body = error(response.status_code, json.loads(bytes(response.body)), exchange)
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(json.dumps(body), status, headers, "application/json")
