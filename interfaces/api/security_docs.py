"""OpenAPI's security for signed-in routes, stated without a dependency per scheme.

``current_principal`` reads the ``Authorization`` header itself (each dependency FastAPI solves
costs time on every request); this adds what the scheme dependencies used to add to the schema:
both schemes of ``deps.SIGN_IN_SCHEMES`` in ``components.securitySchemes`` and as the security
of every operation whose route depends on ``current_principal``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.encoders import jsonable_encoder
from fastapi.routing import APIRoute

from interfaces.api.deps import SIGN_IN_SCHEMES, current_principal


def _signs_in(dependant: Dependant) -> bool:
    pending = [dependant]
    while pending:
        node = pending.pop()
        if node.call is current_principal:
            return True
        pending.extend(node.dependencies)
    return False


def _api_routes(routes: Iterable[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every APIRoute under ``routes`` with its full path, through included routers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path_format, route
        included = getattr(route, "original_router", None)  # FastAPI >= 0.165 includes lazily
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from _api_routes(included.routes, prefix + getattr(context, "prefix", ""))


def with_sign_in_schemes(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """``app.openapi`` with the sign-in schemes on every route that needs a principal."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = plain()
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        wanted: list[dict[str, list[str]]] = []
        for scheme in SIGN_IN_SCHEMES:
            model = jsonable_encoder(scheme.model, by_alias=True, exclude_none=True)
            schemes.setdefault(scheme.scheme_name, model)
            wanted.append({scheme.scheme_name: []})
        paths = schema.get("paths", {})
        for path, route in _api_routes(app.routes):
            if path not in paths or not route.include_in_schema:
                continue
            if not _signs_in(route.dependant):
                continue
            for method in route.methods or ():
                operation = paths[path].get(method.lower())
                if operation is not None:
                    security = operation.setdefault("security", [])
                    security.extend(entry for entry in wanted if entry not in security)
        app.openapi_schema = schema
        return schema

    return openapi
