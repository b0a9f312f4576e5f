"""Rows a read model wrote, answered in a response model's JSON without validating them again.

A list answer of 50 tasks spent most of its serialisation time re-validating rows that
Ledgerflow wrote itself (``TaskListOut.model_validate(...).model_dump_json()``: about 0.55 ms a
page, against 0.2 ms here, py-spy and ``tests/unit/test_trusted_rows.py``). ``TrustedRows``
keeps the model's field order and defaults, adds its computed fields and drops the row's other
columns, then lets pydantic-core write the JSON with the formats the model uses (UUID, datetime
``Z``, enums by value). A unit test compares the bytes with the model's own for every field set,
unset and defaulted; the rows must hold the types the model would produce (floats as ``float``,
not ``Decimal``): the same test reads real rows back from the read model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import SimpleNamespace
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined, to_json


class TrustedRows:
    """Serialises read-model rows as ``model`` would (``model.model_dump_json()``)."""

    def __init__(self, model: type[BaseModel]) -> None:
        self._fields: list[tuple[str, Callable[[], Any] | None]] = []
        for name, field in model.model_fields.items():
            if field.default_factory is not None:
                factory = field.default_factory
                self._fields.append((name, factory))  # type: ignore[arg-type]
            elif field.default is PydanticUndefined:
                self._fields.append((name, None))
            else:
                self._fields.append((name, _constant(field.default)))
        self._computed = [(name, getattr(model, name).fget) for name in model.model_computed_fields]

    def shape(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The row as the model's fields, in the model's order (``KeyError`` for a missing
        required column)."""
        shaped = {
            name: row[name] if name in row or default is None else default()
            for name, default in self._fields
        }
        if self._computed:
            view = SimpleNamespace(**shaped)
            for name, compute in self._computed:
                shaped[name] = compute(view)
        return shaped

    def page_json(self, key: str, rows: Iterable[Mapping[str, Any]], **fields: Any) -> bytes:
        """``{**fields, key: [rows...]}`` as JSON, in the order a model whose paging ``fields``
        come before the ``key`` list field would write it."""
        return to_json({**fields, key: [self.shape(row) for row in rows]})

    def json(self, row: Mapping[str, Any]) -> bytes:
        """One row as JSON."""
        return to_json(self.shape(row))


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value
