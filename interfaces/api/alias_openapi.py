"""The seeds' aliases in the OpenAPI schema: each seed path is documented as a copy of its
canonical operation, under the seed's own path, parameter names and operation id.

An alias route itself stays out of FastAPI's schema (it is a plain rewrite), so this adds the
operations after FastAPI has built the canonical ones. What a presenter changes is stated: the
success status it answers with, a reshaped answer (documented as a JSON object unless the
presenter's ``document`` says more), and whatever its ``document`` edits (flow8's ``page`` and
``size``, DevFlow's 400).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable
from typing import Any

from interfaces.api.alias import Alias

TAG = "seed aliases"
Schema = dict[str, Any]


def operation_id(alias: Alias) -> str:
    """The alias's own operation id: ``seed_get_api_flows_id_layers``."""
    return "seed_" + re.sub(r"\W+", "_", f"{alias.method} {alias.path}").strip("_").lower()


def operation_of(alias: Alias, canonical: Schema) -> Schema:
    """The alias's operation: the canonical one as the seed spells it and its presenter shapes
    it."""
    operation = copy.deepcopy(canonical)
    seed_name = {canonical: seed for seed, canonical in alias.names().items()}
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "path":
            parameter["name"] = seed_name.get(parameter["name"], parameter["name"])
    operation["operationId"] = operation_id(alias)
    operation["tags"] = [TAG]
    served = f"A seed's spelling of `{alias.canonical_method} {alias.to}`, served by it."
    operation["description"] = f"{served}\n\n{canonical.get('description', '')}".strip()
    presenter, responses = alias.presenter, operation.get("responses", {})
    success = [code for code in responses if code.startswith("2")]
    if presenter.answer is not None:
        for code in success:
            if "content" in responses[code]:
                responses[code]["content"] = {"application/json": {"schema": {"type": "object"}}}
    if presenter.status is not None and success:
        responses[str(presenter.status)] = responses.pop(success[0])
    if presenter.document is not None:
        presenter.document(operation)
    return operation


def with_aliases(openapi: Callable[[], Schema], aliases: Iterable[Alias]) -> Callable[[], Schema]:
    """``openapi`` with every HTTP alias whose canonical route is documented added to it."""
    listed = [alias for alias in aliases if alias.method != "WS"]

    def schema() -> Schema:
        built = openapi()
        paths: dict[str, dict[str, Schema]] = built.setdefault("paths", {})
        for alias in listed:
            canonical = paths.get(alias.to, {}).get(alias.canonical_method.lower())
            if canonical is None:
                continue  # a route left out of the schema (/api/v1/metrics): its alias too
            operations = paths.setdefault(alias.path, {})
            if alias.method.lower() in operations:
                raise ValueError(f"{alias.method} {alias.path} is both a route and an alias")
            operations[alias.method.lower()] = operation_of(alias, canonical)
        return built

    return schema
