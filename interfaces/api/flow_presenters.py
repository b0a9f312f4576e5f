"""The seeds' shapes of flows, steps and runs (CONTRACT A.4, A.9), as presenters of the flows
feature's aliases (``interfaces/features/flows.py``).

- 002 (``/api/v1/workflows/``): objects also carry ``id``; the list is ``workflows``.
- flow8 (``/api/flows``, ``/api/plays``): objects carry ``id``; lists are flow8's envelope
  ``{data, total, page, size, pages}``; errors ``{error: CODE, message, statusCode}``, a missing
  flow "Flow with ID <id> not found" (004:L55-57).
- Behflow (``/api/v1/processes/{id}/execute``): executing a process (a flow) starts a
  run and answers 200 with Behflow's execution (000:L160-188).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from interfaces.api.alias import Exchange, Presenter
from interfaces.api.presenters import LIST_FIELDS, flow8_error, flow8_list, flow8_query
from interfaces.api.query import PAGE_MAX

Answer = Callable[[Any, Exchange], Any]
# flow8's words for a missing resource, and the seed's path parameter that names it.
FLOW8_MISSING = {
    "FLOW_NOT_FOUND": ("Flow", "id"),
    "RUN_NOT_FOUND": ("Play", "id"),
    "STEP_NOT_FOUND": ("Layer", "layer_id"),
}


def with_id(item: dict[str, Any], id_field: str) -> dict[str, Any]:
    """``item`` with ``id`` (first) beside its ``<thing>_id``."""
    return {"id": item[id_field], **item}


def identified(id_field: str) -> Answer:
    """An answer presenter adding ``id`` to one object."""
    return lambda answer, _: with_id(answer, id_field)


def listed(id_field: str, key: str | None = None) -> Answer:
    """An answer presenter adding ``id`` to every item of a list (renamed ``key`` if given)."""

    def present(answer: Any, _: Exchange) -> Any:
        named = next(k for k, v in answer.items() if isinstance(v, list) and k not in LIST_FIELDS)
        rest = {k: v for k, v in answer.items() if k != named}
        return {key or named: [with_id(item, id_field) for item in answer[named]], **rest}

    return present


def flow8_missing(status: int, body: dict[str, Any], exchange: Exchange) -> tuple[int, Any]:
    """flow8's error form; a missing flow, play or layer in flow8's sentence."""
    status, out = flow8_error(status, body, exchange)
    known = FLOW8_MISSING.get(out.get("code", ""))
    raw = exchange.scope.get("path_params", {}).get(known[1]) if known else None
    if known and raw is not None:
        out["message"] = f"{known[0]} with ID {raw} not found"
    return status, out


def flow8_paged(operation: dict[str, Any]) -> None:
    """flow8's list parameters in the OpenAPI operation: ``page`` (zero-based) and ``size``."""
    paging = {"limit", "offset", "page", "per_page", "size"}
    kept = [p for p in operation.get("parameters", []) if p["name"] not in paging]
    page = {"type": "integer", "minimum": 0, "maximum": PAGE_MAX, "default": 0}
    size = {"type": "integer", "minimum": 1, "maximum": 100, "default": 25}
    operation["parameters"] = [
        *kept,
        {"name": "page", "in": "query", "required": False, "schema": page},
        {"name": "size", "in": "query", "required": False, "schema": size},
    ]


def flow8_object(id_field: str, **more: Any) -> Presenter:
    """flow8's single object (``id`` added), its errors, JSON whatever the Content-Type."""
    return Presenter(
        answer=identified(id_field), error=flow8_missing, any_content_type=True, **more
    )


def flow8_page(id_field: str) -> Presenter:
    """flow8's list envelope of objects that carry ``id``."""
    ids = listed(id_field)
    return Presenter(
        query=flow8_query,
        answer=lambda answer, exchange: flow8_list(ids(answer, exchange), exchange),
        error=flow8_missing,
        document=flow8_paged,
    )


FLOW8_WRITE = Presenter(error=flow8_missing, any_content_type=True)  # 204s: nothing to show


# Behflow ----------------------------------------------------------------------------------------


def execution(run: Any, _: Exchange) -> Any:
    """A started run as Behflow's execution (000:L181-188): ``running`` until it ends."""
    return {
        "execution_id": run["run_id"],
        "process_id": run["flow_id"],
        "status": "running",
        "message": "Run started",
        "started_at": run["created_at"],
        "completed_at": None,
    }


def behflow_error(status: int, body: dict[str, Any], _: Exchange) -> tuple[int, Any]:
    """Behflow's words: a missing process is "Resource not found" (000:L203)."""
    if status == 404:
        body = {**body, "detail": "Resource not found", "message": "Resource not found"}
    return status, body


EXECUTE = Presenter(status=200, answer=execution, error=behflow_error)
