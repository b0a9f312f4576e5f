"""Presenters of the seeds' spellings of flows and runs (CONTRACT A.4, A.9).

The alias routes (``routes/workflows.py``, ``routes/flow8_flows.py``, ``routes/plays.py``,
``routes/processes.py``) hand the work to the canonical handlers and reshape the answers here:
002 and flow8 objects also carry ``id``; flow8 lists use its envelope ``{data, total, page,
size, pages}`` (``page`` zero-based) and its errors ``{error, message, statusCode}``. Path ids
that are not UUIDs are 404. They live in the flows feature until the shared alias/presenter
mechanism (issue 13) lands, and move onto it then.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from uuid import UUID

from fastapi import Query, Request, Response
from fastapi.routing import APIRoute

from domain.error import NotFound
from interfaces.api.query import PAGE_MAX

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def seed_uuid(value: str, missing: type[NotFound]) -> UUID:
    try:
        return UUID(value.removeprefix("flow-").removeprefix("run-"))
    except ValueError:
        raise missing(value) from None


def with_id(model: Any, id_field: str) -> dict[str, Any]:
    body: dict[str, Any] = model.model_dump(mode="json")
    return {"id": body[id_field], **body}


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


def flow8_page(items: list[Any], total: int, page: int, size: int) -> dict[str, Any]:
    return {
        "data": items,
        "total": total,
        "page": page,
        "size": size,
        "pages": math.ceil(total / size) if total else 0,
    }


Page = Annotated[int, Query(ge=0, le=PAGE_MAX, description="zero-based page")]
Size = Annotated[int, Query(ge=1, le=100)]
