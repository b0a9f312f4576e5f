"""The feature list: every event has a reader rule, every scope and router comes from a feature."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import replace

import pytest
from eventsourcing.domain import Aggregate

import domain
from application.credential import CredentialVault
from application.flow import FlowCommands
from application.ledger import Ledger
from interfaces.feature import reader_rules, register_handlers, scope_names, scope_table, step_kinds
from interfaces.features import FEATURES
from interfaces.settings import Settings
from projections.readers import UncoveredEvent, event_classes


def aggregates() -> list[type]:
    """Every aggregate class the domain defines."""
    for module in pkgutil.iter_modules(domain.__path__):
        importlib.import_module(f"domain.{module.name}")
    found, todo = [], list(Aggregate.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("domain."):
            found.append(cls)
    return found


def test_every_event_type_of_the_domain_has_a_reader_rule():
    rules = reader_rules(FEATURES)
    uncovered = [
        f"{aggregate.__qualname__}.{event.__name__}"
        for aggregate in aggregates()
        for event in event_classes(aggregate)
        if not rules.covers(event)
    ]
    assert len([e for a in aggregates() for e in event_classes(a)]) >= 20
    assert uncovered == [], f"add a ReaderRule to the feature of: {uncovered}"


def test_an_event_no_rule_covers_is_an_error_not_a_silent_loss():
    class Stray(Aggregate):
        class Created(Aggregate.Created):
            TOPIC = "stray.created"

    with pytest.raises(UncoveredEvent):
        reader_rules(FEATURES).named_by(Stray().collect_events()[0])


def test_api_key_scopes_and_the_scope_table_come_from_the_features():
    assert {"tasks:read", "tasks:write", "webhooks:read", "webhooks:write", "profile:read"} <= (
        scope_names(FEATURES)
    )
    table = scope_table(FEATURES)
    prefixes = [scope.prefix for scope in table]
    assert prefixes == sorted(prefixes, key=len, reverse=True)
    assert any(scope.guards("/api/v1/tasks/{task_id}") for scope in table)


def test_feature_names_are_unique_and_every_router_is_declared_once():
    names = [feature.name for feature in FEATURES]
    routers = [id(router) for feature in FEATURES for router in feature.routers]
    assert len(names) == len(set(names))
    assert len(routers) == len(set(routers))


def test_leaving_a_feature_out_leaves_its_events_uncovered():
    from domain.task import Task

    without_tasks = [feature for feature in FEATURES if feature.name != "tasks"]
    assert not reader_rules(without_tasks).covers(Task.Created)
    assert reader_rules(FEATURES).covers(Task.Created)


def test_step_types_come_from_the_features_that_own_them_and_flows_know_them_all():
    owners = {kind.name: f.name for f in FEATURES for kind in f.step_types}
    assert owners == {
        "task": "flows",
        "http": "flows",
        "delay": "flows",
        "agent": "agents",
        "approval": "approvals",
    }
    settings = Settings()
    ledger = Ledger(credentials=CredentialVault("secret"))
    register_handlers(ledger, settings, FEATURES)
    assert set(ledger[FlowCommands].kinds) == set(owners)
    ledger.close()


def test_two_features_declaring_one_step_type_is_a_wiring_error():
    flows = next(f for f in FEATURES if f.name == "flows")
    again = replace(flows, name="copy")
    with pytest.raises(ValueError, match=r"step type 'delay' is declared by two features"):
        step_kinds([flows, again])
