"""A flow's steps: keys, types, per-type config and the DAG, each refused with its own code."""

from __future__ import annotations

from uuid import uuid4, uuid5

import pytest

from application.agent_step import AGENT_STEP
from application.approval_gate import APPROVAL_STEP
from application.step_types import FLOW_STEP_KINDS
from domain.flow import Flow, StepHasDependents
from domain.flow_step import (
    DependencyCycle,
    DuplicateStepKey,
    InvalidStepConfig,
    UnknownDependency,
    UnknownStepType,
    normalize_steps,
)

FLOW = uuid4()
# every step type, as the features declare them (interfaces/features: flows, agents, approvals)
CHECKS = {kind.name: kind.check for kind in (*FLOW_STEP_KINDS, AGENT_STEP, APPROVAL_STEP)}


def task(key, depends_on=None, **extra):
    return {"key": key, "name": key, "type": "task", "config": {"name": key}, **extra} | (
        {} if depends_on is None else {"depends_on": depends_on}
    )


def test_steps_without_depends_on_run_one_after_the_other():
    steps = normalize_steps(FLOW, [task("a"), task("b"), task("c")], CHECKS)
    assert [s["depends_on"] for s in steps] == [[], ["a"], ["b"]]
    assert steps[1]["step_id"] == uuid5(FLOW, "b")


def test_an_empty_depends_on_is_a_root_and_ids_are_accepted_for_keys():
    steps = normalize_steps(
        FLOW, [task("a"), task("b", []), task("c", [str(uuid5(FLOW, "a")), "b"])], CHECKS
    )
    assert [s["depends_on"] for s in steps] == [[], [], ["a", "b"]]


def test_a_cycle_is_refused_naming_the_cycle():
    with pytest.raises(DependencyCycle) as caught:
        normalize_steps(
            FLOW, [task("a", ["c"]), task("b", ["a"]), task("c", ["b"]), task("d", [])], CHECKS
        )
    assert caught.value.code == "DEPENDENCY_CYCLE"
    assert "a -> c -> b -> a" in str(caught.value)
    assert caught.value.cycle == ["a", "c", "b", "a"]


def test_a_step_depending_on_itself_is_a_cycle():
    with pytest.raises(DependencyCycle):
        normalize_steps(FLOW, [task("a", ["a"])], CHECKS)


@pytest.mark.parametrize(
    ("steps", "error", "code"),
    [
        ([task("a"), task("a")], DuplicateStepKey, "DUPLICATE_STEP_KEY"),
        ([task("a", ["nope"])], UnknownDependency, "UNKNOWN_DEPENDENCY"),
        ([{"name": "x", "type": "teleport"}], UnknownStepType, "UNKNOWN_STEP_TYPE"),
        ([{"name": "x", "type": "task", "config": {}}], InvalidStepConfig, "INVALID_STEP_CONFIG"),
        ([{"name": "x", "type": "delay", "config": {}}], InvalidStepConfig, "INVALID_STEP_CONFIG"),
        (
            [{"name": "x", "type": "delay", "config": {"seconds": 0}}],
            InvalidStepConfig,
            "INVALID_STEP_CONFIG",
        ),
        (
            [{"name": "x", "type": "http", "config": {"url": "ftp://x"}}],
            InvalidStepConfig,
            "INVALID_STEP_CONFIG",
        ),
        ([{"name": "x", "type": "agent", "config": {}}], InvalidStepConfig, "INVALID_STEP_CONFIG"),
        (
            [{"name": "x", "type": "approval", "config": {"quorum": 0}}],
            InvalidStepConfig,
            "INVALID_STEP_CONFIG",
        ),
    ],
)
def test_bad_steps_are_refused_with_a_machine_code(steps, error, code):
    with pytest.raises(error) as caught:
        normalize_steps(FLOW, steps, CHECKS)
    assert caught.value.code == code


def test_every_type_accepts_a_good_config_and_templates_are_checked_when_the_step_runs():
    steps = normalize_steps(
        FLOW,
        [
            {"name": "t", "type": "task", "config": {"name": "{{ inputs.title }}"}},
            {"name": "a", "type": "agent", "config": {"capability": "fix-bug"}},
            {"name": "p", "type": "approval", "config": {"quorum": 2}},
            {"name": "h", "type": "http", "config": {"url": "{{ inputs.url }}"}},
            {"name": "d", "step_type": "delay", "config": {"until": "2030-01-01T00:00:00Z"}},
        ],
        CHECKS,
    )
    assert [s["type"] for s in steps] == ["task", "agent", "approval", "http", "delay"]
    assert [s["key"] for s in steps] == ["t", "a", "p", "h", "d"]


def test_adding_removing_and_updating_steps_keep_the_dag_valid():
    flow = Flow.define(uuid4(), "f", steps=[task("a")], checks=CHECKS)
    added = flow.add_step(task("b"), CHECKS)
    assert added["depends_on"] == ["a"]
    with pytest.raises(StepHasDependents):
        flow.remove_step(uuid5(flow.id, "a"))
    with pytest.raises(DependencyCycle):
        flow.update_step(uuid5(flow.id, "a"), {"depends_on": ["b"]}, CHECKS)
    flow.remove_step(added["step_id"])
    assert [s["key"] for s in flow.steps] == ["a"]
    topics = [type(e).TOPIC for e in flow.collect_events()]
    assert topics == ["flow.created", "flow.step_added", "flow.step_removed"]
