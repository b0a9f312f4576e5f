"""The seeds' shapes, as presenters that aliases reuse (interfaces/api/alias.py).

- flow8 (004): lists ``{data, total, page, size, pages}`` with a zero-based ``page`` and ``size``
  (default 25, at most 100); errors ``{error: CODE, message, statusCode}`` with 401 spelled
  ``UNAUTHORIZED``; JSON bodies whatever their Content-Type (its curl sends none).
- DevFlow (003): camelCase bodies in and out (free-form objects such as ``context`` are never
  re-keyed), lists with ``hasMore``, errors whose ``error`` is a title ("Task not found"), and
  400 with ``details`` (the missing fields) where Ledgerflow answers 422.
- 002: query and body words renamed (``status_filter`` -> ``status``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from interfaces.api.alias import Exchange, Presenter
from projections.envelope import camel

# Objects whose keys belong to the client: never re-keyed (shared/CONTRACT.md 2.1).
FREE_FORM = frozenset({"context", "result_files", "resultFiles", "config", "inputs", "filter"})
FLOW8_SIZE, FLOW8_MAX_SIZE = 25, 100
_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])([A-Z])")
LIST_FIELDS = frozenset({"total", "limit", "offset", "has_more", "page", "per_page", "pages"})


def snake(name: str) -> str:
    """``resultFiles`` -> ``result_files``."""
    return _CAMEL_HUMP.sub(r"_\1", name).lower()


def rekeyed(value: Any, key: Callable[[str], str]) -> Any:
    """``value`` with every object key passed through ``key``, except inside free-form objects."""
    if isinstance(value, list):
        return [rekeyed(item, key) for item in value]
    if not isinstance(value, dict):
        return value
    return {key(k): (v if k in FREE_FORM else rekeyed(v, key)) for k, v in value.items()}


def renamed_query(names: Mapping[str, str]) -> Callable[..., list[tuple[str, str]]]:
    """A query presenter renaming parameters (``{"status_filter": "status"}``)."""

    def rename(query: list[tuple[str, str]], _: Exchange) -> list[tuple[str, str]]:
        return [(names.get(k, k), v) for k, v in query]

    return rename


def items_of(answer: dict[str, Any]) -> list[Any]:
    """The list of a canonical list answer (``tasks``, ``users``, ``api_keys``...)."""
    found = [v for k, v in answer.items() if isinstance(v, list) and k not in LIST_FIELDS]
    return found[0] if found else []


# flow8 ----------------------------------------------------------------------------------------


def _flow8_page(query: Mapping[str, str]) -> tuple[int, int]:
    def number(name: str, default: int) -> int:
        text = query.get(name, "")
        return int(text) if text.isdigit() else default

    return number("page", 0), max(1, min(number("size", FLOW8_SIZE), FLOW8_MAX_SIZE))


def flow8_query(query: list[tuple[str, str]], exchange: Exchange) -> list[tuple[str, str]]:
    """flow8's zero-based ``page`` and ``size`` as the canonical ``limit``/``offset``."""
    page, size = _flow8_page(exchange.query)
    kept = [(k, v) for k, v in query if k not in ("page", "size", "limit", "offset")]
    return [*kept, ("limit", str(size)), ("offset", str(page * size))]


def flow8_list(answer: Any, exchange: Exchange) -> Any:
    """A canonical list as flow8's ``{data, total, page, size, pages}`` (zero-based page)."""
    page, size = _flow8_page(exchange.query)
    items = items_of(answer)
    if "offset" not in answer:  # a canonical list that does not page: page it here
        items = items[page * size : (page + 1) * size]
    total = int(answer.get("total", len(items)))
    return {"data": items, "total": total, "page": page, "size": size, "pages": pages(total, size)}


def flow8_error(status: int, body: dict[str, Any], _: Exchange) -> tuple[int, dict[str, Any]]:
    """flow8's machine code in ``error``; its 401 is ``UNAUTHORIZED``."""
    code = "UNAUTHORIZED" if status == 401 else body.get("code", "ERROR")
    return status, {**body, "error": code}


FLOW8 = Presenter(error=flow8_error, any_content_type=True)
FLOW8_LIST = Presenter(query=flow8_query, answer=flow8_list, error=flow8_error)


# DevFlow --------------------------------------------------------------------------------------

DEVFLOW_NAMES = {"agent_key": "agentId", "agent_version": "version"}  # canonical -> DevFlow
DEVFLOW_TITLES = {
    "NOT_AUTHENTICATED": "Invalid or expired token",
    "VALIDATION_ERROR": "Missing required fields",
    "FORBIDDEN": "Forbidden",
    "CONFLICT": "Conflict",
    "RATE_LIMITED": "Too many requests",
    "INTERNAL_ERROR": "Internal error",
    "AGENT_EXISTS": "Agent with this ID already exists for user",
    "AGENT_NOT_FOUND": "Agent not found",
    "TASK_NOT_FOUND": "Task not found",
    "PROGRESS_OUT_OF_RANGE": "Progress must be between 0 and 1",
}


def devflow_error(status: int, body: dict[str, Any], _: Exchange) -> tuple[int, dict[str, Any]]:
    """DevFlow's title in ``error``; an invalid body is its 400 with ``details`` (the fields in
    DevFlow's spelling): "Missing required fields" when only fields are missing."""
    code = body.get("code", "")
    title = DEVFLOW_TITLES.get(code) or (body["detail"] if status == 404 else code.title())
    out = {**body, "error": title}
    problems = body.get("errors") or []
    if code == "VALIDATION_ERROR" and problems:
        status = out["statusCode"] = 400
        out["details"] = [_field(p) for p in problems if _field(p)]
        if any(p.get("type") != "missing" for p in problems):
            out["error"] = "Invalid request"
    return status, out


def _field(problem: dict[str, Any]) -> str:
    """The DevFlow name of the body field a validation problem is about ("" for none)."""
    names = [str(p) for p in problem.get("loc", ()) if p != "body" and not isinstance(p, int)]
    return DEVFLOW_NAMES.get(names[0], camel(names[0])) if names else ""


def devflow_document(operation: dict[str, Any]) -> None:
    """DevFlow's 400 for an invalid body, in the OpenAPI operation."""
    operation.setdefault("responses", {}).setdefault("400", {"description": "Bad input"})


def devflow_body(document: Any, _: Exchange) -> Any:
    """A DevFlow camelCase body as the canonical snake_case one (free-form objects untouched)."""
    return rekeyed(document, snake)


def devflow_answer(document: Any, _: Exchange) -> Any:
    """A canonical answer in DevFlow's camelCase (free-form objects untouched)."""
    return rekeyed(document, camel)


def devflow_list(answer: Any, exchange: Exchange) -> Any:
    """A canonical list with DevFlow's ``limit``, ``offset`` and ``hasMore``, in camelCase."""
    out = devflow_answer(answer, exchange)
    out.setdefault("hasMore", bool(answer.get("has_more", False)))
    return out


DEVFLOW = Presenter(
    body=devflow_body, answer=devflow_answer, error=devflow_error, document=devflow_document
)
DEVFLOW_LIST = Presenter(
    body=devflow_body, answer=devflow_list, error=devflow_error, document=devflow_document
)


def pages(total: int, size: int) -> int:
    """How many pages of ``size`` hold ``total`` items."""
    return math.ceil(total / size) if size else 0
