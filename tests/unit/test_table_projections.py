"""Every read model on the batch path says how an event changes its row (or opts out)."""

from __future__ import annotations

import importlib
import pkgutil

import projections
from projections.table import RevocableProjection, TableProjection


def _all_subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    return found | {sub for c in found for sub in _all_subclasses(c)}


def test_every_table_projection_folds_rows_or_applies_its_batch_one_by_one():
    for module in pkgutil.iter_modules(projections.__path__):
        importlib.import_module(f"projections.{module.name}")
    subclasses = _all_subclasses(TableProjection) - {RevocableProjection}
    assert len(subclasses) >= 5  # tasks, users, sessions, API keys, webhooks
    for cls in subclasses:
        if cls.apply_batch is TableProjection.apply_batch:
            assert isinstance(getattr(cls, "key", None), str), f"{cls.__name__} has no key"
            assert cls.change_of is not TableProjection.change_of, f"{cls.__name__}.change_of"
