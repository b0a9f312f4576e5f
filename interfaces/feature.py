"""A feature of Ledgerflow, declared once: everything the composition root needs to wire it.

A feature is one aggregate (or a few that belong together) and what serves it: its command
handlers (application), its read models and their queries (projections), its routers (api), the
API-key scopes that guard its paths, its reader rules (who may read its events) and its reactors
(process managers), and the flow step types it owns. ``interfaces/features/__init__.py`` lists the
features; the runner set, the container's queries, the app's routers, the scope table, the reader
rules and the step types are derived from that list. See docs/architecture.md, "Adding an
aggregate".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from psycopg_pool import ConnectionPool

from application.handlers import Handlers
from application.ledger import Ledger
from application.reactor import Reactor
from application.step_types import StepKind
from interfaces.analytics import Analytics, Export
from interfaces.api.alias import Alias
from interfaces.metrics import Sampled
from interfaces.settings import Settings
from projections.readers import ReaderRule, ReaderRules
from projections.runner import Projection

QueryLookup = Callable[[type], Any]  # container.query: a read model's queries by class


@dataclass(frozen=True)
class ReadModel:
    """A read model: how to build its projection, and the queries routes run on it (None:
    queries over a table another feature's projection keeps, e.g. dispatch over tasks)."""

    projection: Callable[[ReaderRules], Projection] | None
    queries: Callable[[ConnectionPool[Any]], Any] | None = None


@dataclass(frozen=True)
class Scope:
    """The API-key scopes of the routes under ``prefix``: ``read`` for GET, ``write`` for the
    rest (None: API keys cannot use those methods there)."""

    prefix: str
    read: str | None
    write: str | None

    def guards(self, path: str) -> bool:
        """Whether a route path falls under this scope's prefix."""
        return path == self.prefix or path.startswith(self.prefix + "/")

    def names(self) -> set[str]:
        """The scope names this entry grants."""
        return {name for name in (self.read, self.write) if name}


@dataclass(frozen=True)
class Wiring:
    """What a feature's ``wire`` may use: the settings and what is derived from every feature."""

    settings: Settings
    scopes: frozenset[str]
    step_kinds: tuple[StepKind, ...] = ()


@dataclass(frozen=True)
class Feature:
    """One feature, declared in ``interfaces/features/<name>.py``."""

    name: str
    handlers: tuple[type[Handlers], ...] = ()
    read_models: tuple[ReadModel, ...] = ()
    routers: tuple[APIRouter, ...] = ()
    scopes: tuple[Scope, ...] = ()
    readers: tuple[ReaderRule, ...] = ()
    # Process managers: each built from the ledger and a lookup of the container's queries.
    reactors: tuple[Callable[[Ledger, QueryLookup], Reactor], ...] = ()
    # The seeds' spellings of its routes: same route, optional presenter (interfaces/api/alias.py).
    aliases: tuple[Alias, ...] = ()
    # Handlers that need more than the ledger (settings, ports) are built here and registered.
    wire: Callable[[Ledger, Wiring], Iterable[Handlers]] | None = None
    # Gauges read from its read models in the background for /metrics (interfaces/metrics.py).
    metrics: tuple[Sampled, ...] = ()
    # Its numbers in /api/v1/analytics/* and its /api/v1/exports/{format}?type= (analytics.py).
    analytics: tuple[Analytics, ...] = ()
    exports: tuple[Export, ...] = ()
    # The flow step types it owns: their config checks and executors (application/step_types.py).
    step_types: tuple[StepKind, ...] = ()


def reader_rules(features: Iterable[Feature]) -> ReaderRules:
    """Every feature's reader rules together."""
    return ReaderRules(rule for feature in features for rule in feature.readers)


def scope_table(features: Iterable[Feature]) -> tuple[Scope, ...]:
    """Every feature's scopes, longest prefix first (the most specific wins)."""
    scopes = [scope for feature in features for scope in feature.scopes]
    return tuple(sorted(scopes, key=lambda s: len(s.prefix), reverse=True))


def scope_names(features: Iterable[Feature]) -> frozenset[str]:
    """Every scope an API key may be given."""
    return frozenset(name for scope in scope_table(features) for name in scope.names())


def step_kinds(features: Iterable[Feature]) -> tuple[StepKind, ...]:
    """Every feature's step types; two features declaring one name is a wiring error."""
    kinds = [kind for feature in features for kind in feature.step_types]
    names = [kind.name for kind in kinds]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"step type {twice[0]!r} is declared by two features")
    return tuple(kinds)


def register_handlers(ledger: Ledger, settings: Settings, features: Sequence[Feature]) -> None:
    """Build every feature's handlers once, with what they need."""
    wiring = Wiring(settings, scope_names(features), step_kinds(features))
    for feature in features:
        for kind in feature.handlers:
            ledger.register(kind(ledger))
        for built in feature.wire(ledger, wiring) if feature.wire else ():
            ledger.register(built)
