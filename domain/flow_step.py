"""The steps of a flow: their types, per-type configuration and the DAG their dependencies form.

``normalize_steps`` is the one check of a flow's steps (at creation, on every change): it gives
each step its ``step_id`` (``uuid5(flow_id, key)``), resolves ``depends_on`` (absent = the step
before it in ``order``; ``[]`` = a root; step keys or step ids otherwise) and refuses a duplicate
key, an unknown type, a bad config, an unknown dependency or a cycle, each with its own machine
code (the HTTP table in ``interfaces/api/errors.py`` maps them to 422).

The step types are not listed here: each is declared by the feature that owns it (a ``StepKind``
in its ``Feature.step_types``), with its config check, and the checks of every declared type
reach ``normalize_steps`` as ``checks``. This module holds the checks of the flows feature's own
types (``task``, ``http``, ``delay``); ``agent`` is checked in ``domain/dispatch.py`` and
``approval`` in ``domain/approval.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from domain.error import InvalidValue
from domain.value import bounded_text

KEY = re.compile(r"^[a-z0-9_-]{1,64}$")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
PRIORITIES = ("low", "medium", "high", "urgent")
DELAY_MAX = 2_592_000
MAX_STEPS = 200
SEALED = "sealed:"  # a header value sealed by the application (never in clear in events)

# A step type's check of a step's config (and of its pinned ``agent_id``, for the types that
# take one): raises ``InvalidStepConfig`` naming the field.
StepCheck = Callable[[Mapping[str, Any], "UUID | None"], None]


class InvalidFlow(InvalidValue):
    """A flow's steps break a rule; ``code`` names which."""

    code = "INVALID_STEP_CONFIG"


class InvalidStepConfig(InvalidFlow):
    """A step's ``config`` does not fit its type."""


class DuplicateStepKey(InvalidFlow):
    """Two steps of a flow have the same key."""

    code = "DUPLICATE_STEP_KEY"


class UnknownStepType(InvalidFlow):
    """A step type no feature declares."""

    code = "UNKNOWN_STEP_TYPE"


class UnknownDependency(InvalidFlow):
    """``depends_on`` names a step the flow does not have."""

    code = "UNKNOWN_DEPENDENCY"


class DependencyCycle(InvalidFlow):
    """The dependencies form a cycle (``cycle`` lists its keys, first repeated last)."""

    code = "DEPENDENCY_CYCLE"

    def __init__(self, cycle: list[str]) -> None:
        super().__init__("depends_on", "the steps form a cycle: " + " -> ".join(cycle))
        self.cycle = cycle


def slug(name: str) -> str:
    """A step key made from its name (``Send mail`` -> ``send-mail``)."""
    return re.sub(r"[^a-z0-9_]+", "-", name.lower()).strip("-")[:64] or "step"


def templated(value: Any) -> bool:
    """True for a string holding a ``{{ ... }}`` template (checked when the step runs)."""
    return isinstance(value, str) and "{{" in value


def need(config: Mapping[str, Any], key: str, kind: str) -> Any:
    """The config's ``key``, refused when absent or empty."""
    if config.get(key) in (None, ""):
        raise InvalidStepConfig(f"config.{key}", f"is required for a {kind} step")
    return config[key]


def number(config: Mapping[str, Any], key: str, low: float, high: float) -> None:
    """Refuse a ``key`` that is given, not a template, and not a number in ``[low, high]``."""
    value = config.get(key)
    if value is None or templated(value):
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidStepConfig(f"config.{key}", f"must be a number from {low:g} to {high:g}")


def check_task(config: Mapping[str, Any], agent_id: UUID | None = None) -> None:
    """A task step: a name, an optional priority and ``wait_for_completion``."""
    name = need(config, "name", "task")
    if not templated(name):
        bounded_text("config.name", name, max_length=200)
    priority = config.get("priority")
    if priority is not None and not templated(priority) and priority not in PRIORITIES:
        raise InvalidStepConfig("config.priority", f"must be one of: {', '.join(PRIORITIES)}")
    if not isinstance(config.get("wait_for_completion", False), bool):
        raise InvalidStepConfig("config.wait_for_completion", "must be true or false")


def check_http(config: Mapping[str, Any], agent_id: UUID | None = None) -> None:
    """An http step: an http(s) URL, a method, string headers, a timeout, expected statuses."""
    url = need(config, "url", "http")
    if not templated(url) and not re.match(r"^https?://[^/\s]+", str(url)):
        raise InvalidStepConfig("config.url", "must be an http:// or https:// URL")
    if str(config.get("method", "POST")).upper() not in HTTP_METHODS:
        raise InvalidStepConfig("config.method", f"must be one of: {', '.join(HTTP_METHODS)}")
    headers = config.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise InvalidStepConfig("config.headers", "must be an object of strings")
    number(config, "timeout_seconds", 1, 60)
    expected = config.get("expected_status")
    if expected is not None and not (
        isinstance(expected, list) and all(isinstance(c, int) for c in expected)
    ):
        raise InvalidStepConfig("config.expected_status", "must be a list of status codes")


def check_delay(config: Mapping[str, Any], agent_id: UUID | None = None) -> None:
    """A delay step: ``seconds`` or an ISO 8601 ``until`` with a time zone."""
    if ("seconds" in config) == ("until" in config):
        raise InvalidStepConfig("config", "a delay step needs exactly one of seconds or until")
    number(config, "seconds", 1, DELAY_MAX)
    until = config.get("until")
    if until is not None and not templated(until):
        try:
            parsed = datetime.fromisoformat(str(until))
        except ValueError:
            raise InvalidStepConfig("config.until", "must be an ISO 8601 time") from None
        if parsed.tzinfo is None:
            raise InvalidStepConfig("config.until", "must include a time zone")


def check_config(
    kind: str,
    config: Mapping[str, Any],
    agent_id: UUID | None,
    checks: Mapping[str, StepCheck],
) -> None:
    """Refuse a type no feature declares, and a config that does not fit its type."""
    check = checks.get(kind)
    if check is None:
        raise UnknownStepType(
            "type", f"{kind!r} is not a step type; use one of: " + ", ".join(checks)
        )
    if not isinstance(config, dict):
        raise InvalidStepConfig("config", "must be an object")
    check(config, agent_id)


def _one(
    flow_id: UUID, raw: Mapping[str, Any], order: int, checks: Mapping[str, StepCheck]
) -> dict[str, Any]:
    name = bounded_text("name", raw.get("name", ""), max_length=200)
    key = raw.get("key") or slug(name)
    if not isinstance(key, str) or not KEY.match(key):
        raise InvalidValue("key", "must match [a-z0-9_-]{1,64}")
    kind = raw.get("type") or raw.get("step_type") or ""
    agent_id = raw.get("agent_id")
    config = dict(raw.get("config") or {})
    check_config(kind, config, agent_id, checks)
    attempts = raw.get("max_attempts") or 1
    if not 1 <= attempts <= 10:
        raise InvalidValue("max_attempts", "must be from 1 to 10")
    return {
        "step_id": uuid5(flow_id, key),
        "key": key,
        "name": name,
        "type": kind,
        "order": order if raw.get("order") is None else int(raw["order"]),
        "config": config,
        "agent_id": agent_id,
        "depends_on": raw.get("depends_on"),
        "timeout_seconds": raw.get("timeout_seconds"),
        "max_attempts": attempts,
        "retry_backoff_seconds": float(raw.get("retry_backoff_seconds", 5.0)),
        "continue_on_failure": bool(raw.get("continue_on_failure", False)),
    }


def normalize_steps(
    flow_id: UUID, raws: Iterable[Mapping[str, Any]], checks: Mapping[str, StepCheck]
) -> list[dict[str, Any]]:
    """The checked, complete form of a flow's steps, sorted by ``order`` (``checks``: the
    config check of every step type the features declare, by type name)."""
    steps = [_one(flow_id, raw, i, checks) for i, raw in enumerate(raws)]
    if len(steps) > MAX_STEPS:
        raise InvalidValue("steps", f"at most {MAX_STEPS} steps")
    keys = [s["key"] for s in steps]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise DuplicateStepKey("key", f"step key {duplicates[0]!r} is used twice")
    steps.sort(key=lambda s: s["order"])
    by_id = {str(s["step_id"]): s["key"] for s in steps}
    for i, step in enumerate(steps):
        given = step["depends_on"]
        if given is None:
            step["depends_on"] = [steps[i - 1]["key"]] if i else []
            continue
        resolved = []
        for dep in given:
            key = by_id.get(str(dep), str(dep))
            if key not in keys:
                raise UnknownDependency(
                    "depends_on", f"step {step['key']!r} depends on unknown step {str(dep)!r}"
                )
            resolved.append(key)
        step["depends_on"] = list(dict.fromkeys(resolved))
    _refuse_cycles(steps)
    return steps


def _refuse_cycles(steps: list[dict[str, Any]]) -> None:
    graph = {s["key"]: s["depends_on"] for s in steps}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(key: str) -> None:
        state[key] = 1
        path.append(key)
        for dep in graph[key]:
            if state.get(dep) == 1:
                raise DependencyCycle([*path[path.index(dep) :], dep])
            if dep not in state:
                visit(dep)
        path.pop()
        state[key] = 2

    for key in graph:
        if key not in state:
            visit(key)


def dependants(steps: Iterable[Mapping[str, Any]], key: str) -> list[str]:
    """The keys of the steps that depend directly on ``key``."""
    return [s["key"] for s in steps if key in s["depends_on"]]
