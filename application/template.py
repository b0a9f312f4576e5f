"""Templating of a step's config from the run's inputs and earlier steps' results (CONTRACT A.1).

``{{ inputs.<path> }}`` and ``{{ steps.<key>.result.<path> }}`` (also ``steps.<key>.status``) in
any string of the config. A string that is one template alone takes the value itself (a number
stays a number, an object an object); inside a longer string the value is written as text (JSON
for objects). A path that names nothing is an error, so the step fails saying which, rather than
sending an empty value. Hand-written on purpose: the language is two roots and dotted paths, and a
template engine (Jinja) would add expressions and filters that config values must not run.
"""

from __future__ import annotations

import json
import re
from typing import Any

TEMPLATE = re.compile(r"\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}")


class TemplateError(ValueError):
    """A template names a value the run does not have."""


def _lookup(path: str, scope: dict[str, Any]) -> Any:
    value: Any = scope
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise TemplateError(f"template {{{{ {path} }}}} names nothing in this run")
    return value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def render(value: Any, scope: dict[str, Any]) -> Any:
    """``value`` with every template replaced (recursively through lists and objects)."""
    if isinstance(value, dict):
        return {k: render(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, scope) for v in value]
    if not isinstance(value, str) or "{{" not in value:
        return value
    alone = TEMPLATE.fullmatch(value.strip())
    if alone:
        return _lookup(alone.group(1), scope)
    return TEMPLATE.sub(lambda m: _text(_lookup(m.group(1), scope)), value)
