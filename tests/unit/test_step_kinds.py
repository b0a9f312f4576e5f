"""Step types declared by the features that own them: flows accept exactly those, the run engine
builds their executors from the same list (application/step_types.py, ``StepKind``)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from application.credential import CredentialVault
from application.flow import FlowCommands
from application.ledger import Ledger
from application.run_engine import RunEngine
from application.step_types import FLOW_STEP_KINDS, Outcome, StepKind
from domain.flow_step import InvalidStepConfig, UnknownStepType
from tests.unit.engine_driver import CTX, OWNER, Driver

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def driver():
    ledger = Ledger(credentials=CredentialVault("secret", hasher=FAST))
    ledger.register(FlowCommands(ledger))  # the flows feature's own types only
    yield Driver(ledger, RunEngine(ledger))
    ledger.close()


def check_echo(config, agent_id=None):
    if not isinstance(config.get("say"), str):
        raise InvalidStepConfig("config.say", "must be a string")


class Echo:
    """A step type of a feature that does not exist: it answers what its config says."""

    def start(self, start):
        return Outcome("succeeded", {"said": start.config["say"]})


ECHO = StepKind("echo", check_echo, lambda commands: Echo())


def test_a_step_type_no_feature_declares_is_refused_when_the_flow_is_saved(driver):
    with pytest.raises(UnknownStepType, match="use one of: task, http, delay"):
        driver.run([{"key": "ask", "name": "ask", "type": "approval", "config": {}}])


def test_a_feature_declares_its_step_type_once_and_flows_check_it_and_the_engine_runs_it():
    ledger = Ledger(credentials=CredentialVault("secret", hasher=FAST))
    ledger.register(FlowCommands(ledger, kinds=(*FLOW_STEP_KINDS, ECHO)))
    driver = Driver(ledger, RunEngine(ledger))  # no executor given to the engine
    with pytest.raises(InvalidStepConfig, match=r"config\.say"):
        driver.run([{"key": "e", "name": "e", "type": "echo", "config": {"say": 5}}])
    run = driver.run(
        [{"key": "e", "name": "e", "type": "echo", "config": {"say": "{{ inputs.word }}"}}],
        {"word": "hello"},
    )
    assert run.status == "succeeded"
    assert run.results()["e"] == {"result": {"said": "hello"}, "status": "succeeded"}
    ledger.close()


def test_a_stored_step_whose_type_is_no_longer_declared_fails_its_run_saying_so():
    ledger = Ledger(credentials=CredentialVault("secret", hasher=FAST))
    commands = FlowCommands(ledger, kinds=(*FLOW_STEP_KINDS, ECHO))
    ledger.register(commands)
    flow = commands.define_flow(
        CTX, OWNER, {"name": "f", "steps": [{"name": "e", "type": "echo", "config": {"say": "x"}}]}
    ).aggregate
    run_id = commands.start_run(CTX, OWNER, flow.id).aggregate.id
    del commands.kinds["echo"]  # the feature that declared it is gone from this server
    driver = Driver(ledger, RunEngine(ledger))
    driver.settle()
    run = driver.get(run_id)
    assert run.status == "failed"
    assert "steps of type echo cannot run yet" in (run.error or "")
    ledger.close()
