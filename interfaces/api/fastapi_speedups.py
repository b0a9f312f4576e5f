"""Remember what FastAPI recomputes on every request from objects fixed at start-up.

FastAPI 0.165 works out, for every parameter of every request, whether the parameter is a
model, which names it may arrive under and whether its type is a sequence, and for every
dependency its cache key: pure functions of the route's ``ModelField`` and ``Dependant`` objects,
which FastAPI builds once when the route is added and never changes. py-spy ``--gil`` on
``ledgerflow serve`` under GET /api/v1/tasks: these calls held the interpreter in about 12 % of
the samples (``request_params_to_args`` and ``_get_cache_key`` with what they call).

``install()`` wraps those functions, where FastAPI's request path looks them up, with a memo
keyed by the identity of the object they are computed from (the object is kept with its answer,
so an id is never reused while its answer is remembered). The answers are the same (a test
compares both on every parameter and dependency of the app). Only the FastAPI versions this was
checked against are touched; on any other the functions are left as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import fastapi
from fastapi.dependencies import utils

CHECKED = ("0.165.",)  # FastAPI versions whose private functions these wrap as they are
_installed: dict[str, Callable[..., Any]] = {}


def _by_identity(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function(obj)`` remembered per ``obj`` (by identity)."""
    memo: dict[int, tuple[Any, Any]] = {}

    def remembered(obj: Any) -> Any:
        found = memo.get(id(obj))
        if found is not None and found[0] is obj:
            return found[1]
        answer = function(obj)
        memo[id(obj)] = (obj, answer)
        return answer

    return remembered


def _aliases(function: Callable[..., Any]) -> Callable[..., Any]:
    memo: dict[tuple[int, bool], tuple[Any, Any]] = {}

    def remembered(field: Any, *, convert_underscores: bool = False) -> Any:
        key = (id(field), convert_underscores)
        found = memo.get(key)
        if found is not None and found[0] is field:
            return list(found[1])  # a fresh list: callers may not expect to share it
        answer = function(field, convert_underscores=convert_underscores)
        memo[key] = (field, tuple(answer))
        return answer

    return remembered


def _cache_key(function: Callable[..., Any]) -> Callable[..., Any]:
    memo: dict[int, tuple[Any, Any]] = {}

    def remembered(*, dependant: Any, uses_scopes_cache: Any = None) -> Any:
        found = memo.get(id(dependant))
        if found is not None and found[0] is dependant:
            return found[1]
        answer = function(dependant=dependant, uses_scopes_cache=uses_scopes_cache)
        memo[id(dependant)] = (dependant, answer)
        return answer

    return remembered


WRAPPERS: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] = {
    "_get_param_model": _by_identity,
    "_get_param_aliases": _aliases,
    "field_annotation_is_sequence": _by_identity,
    "_is_json_field": _by_identity,
    "_get_cache_key": _cache_key,
}


def install() -> bool:
    """Wrap the functions (once); False when this FastAPI is not one they were checked on."""
    if not fastapi.__version__.startswith(CHECKED):
        return False
    for name, wrap in WRAPPERS.items():
        if name not in _installed and callable(getattr(utils, name, None)):
            _installed[name] = getattr(utils, name)
            setattr(utils, name, wrap(_installed[name]))
    return True


def original(name: str) -> Callable[..., Any]:
    """FastAPI's own function ``name`` (for the test that compares the answers)."""
    return _installed.get(name) or getattr(utils, name)
