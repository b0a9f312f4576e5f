"""Routing without trying every router: each included router is asked only about paths it can hold.

FastAPI tries the app's routes in order until one matches, and each included router tries its
own: with every feature's routers and the seeds' aliases, ``POST /api/v1/tasks`` went through a
dozen routers, ~9 % of the API process under a POST load (py-spy ``--gil``), before reaching
its own. Every route's pattern starts with the literal text of its path up to the first
``{``, so a router none of whose routes starts that way cannot match the path: ``index``
gives each included router a check of those literal prefixes in front of its own matching.
The answer is the same router, in the same order (``tests/integration/test_route_index.py``
routes every documented path both ways); a router whose prefixes cannot be known (a mount, a
route without a path format) is left as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import Scope

Matches = Callable[[Scope], tuple[Match, Scope]]


def literal_prefixes(router: BaseRoute) -> tuple[str, ...] | None:
    """The literal starts of every path ``router`` serves, or None when one is unknown."""
    contexts = getattr(router, "effective_route_contexts", None)
    if contexts is None:
        return None
    prefixes: set[str] = set()
    for context in contexts():
        route = getattr(context, "original_route", None)
        path_format = getattr(context, "path_format", None)
        if isinstance(route, Mount) or not isinstance(path_format, str) or not path_format:
            return None
        prefixes.add(path_format.split("{", 1)[0])
    return tuple(sorted(prefixes))


def guarded(matches: Matches, prefixes: tuple[str, ...]) -> Matches:
    """``matches``, asked only when the path starts with one of ``prefixes``."""

    def guarded_matches(scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] in ("http", "websocket") and not get_route_path(scope).startswith(
            prefixes
        ):
            return Match.NONE, {}
        return matches(scope)

    return guarded_matches


def index(app: FastAPI) -> int:
    """Guard every included router of ``app`` whose prefixes are known; how many were."""
    done = 0
    for route in app.router.routes:
        prefixes = literal_prefixes(route)
        if prefixes is None or isinstance(route, Mount):
            continue
        original: Any = route.matches
        route.matches = guarded(original, prefixes)  # type: ignore[method-assign,assignment]
        done += 1
    return done
