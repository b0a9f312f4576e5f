"""The OpenAPI schema says what the request guard refuses: which characters a string may hold.

Every string a client sends (request bodies, query, path and header parameters) without its own
format, enum or pattern gets the pattern of ``request_guard.FORBIDDEN`` inverted, so that client
generators and schemathesis produce what the API accepts. Response schemas are left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

ALLOWED_TEXT = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F]*$"
_FIXED = ("format", "enum", "pattern", "const", "$ref")


def _mark(schema: Any, components: dict[str, Any], seen: set[str]) -> None:
    """Add the pattern to every free string under ``schema`` (following refs once each)."""
    pending = [schema]
    while pending:
        node = pending.pop()
        if not isinstance(node, dict):
            continue
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name not in seen:
                seen.add(name)
                pending.append(components.get(name))
        if node.get("type") == "string" and not any(key in node for key in _FIXED):
            node["pattern"] = ALLOWED_TEXT
        for key in ("properties", "items", "anyOf", "oneOf", "allOf", "additionalProperties"):
            child = node.get(key)
            if isinstance(child, dict) and key == "properties":
                pending.extend(child.values())
            elif isinstance(child, list):
                pending.extend(child)
            elif isinstance(child, dict):
                pending.append(child)


def with_text_patterns(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """``app.openapi`` with the allowed characters of every request string stated."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = plain()
        components = schema.get("components", {}).get("schemas", {})
        seen: set[str] = set()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for parameter in operation.get("parameters", []):
                    _mark(parameter.get("schema"), components, seen)
                for content in operation.get("requestBody", {}).get("content", {}).values():
                    _mark(content.get("schema"), components, seen)
        app.openapi_schema = schema
        return schema

    return openapi
