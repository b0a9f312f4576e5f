"""Every request body of the OpenAPI document carries an example that Swagger's "Try it out"
sends as it is.

A body model may state its own example (``json_schema_extra={"examples": [...]}``) where its
fields' examples together would not make a request that works (two spellings of one field, an
id of something that does not exist yet); otherwise the example is made of the first example of
each of its fields. The example goes where every client reads it: the media type's ``example``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

REF = "#/components/schemas/"


def body_example(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    """The example of a request body schema: its own, else its fields' first examples."""
    for option in schema.get("anyOf", []):  # an optional body: Model | None
        if "$ref" in option:
            return body_example(option, components)
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(REF):
        schema = components.get(ref.removeprefix(REF), {})
    if schema.get("examples"):
        return schema["examples"][0]
    return {
        name: field["examples"][0]
        for name, field in schema.get("properties", {}).items()
        if field.get("examples")
    }


def with_body_examples(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """``app.openapi`` with an ``example`` on every request body's media type."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        schema = plain()
        components = schema.get("components", {}).get("schemas", {})
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for media in operation.get("requestBody", {}).get("content", {}).values():
                    if "example" not in media and "schema" in media:
                        media["example"] = body_example(media["schema"], components)
        return schema

    return openapi
