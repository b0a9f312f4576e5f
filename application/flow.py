"""Flow and run commands: define and change flows, start and cancel runs.

The headers of ``http`` steps are sealed here (``CredentialVault.seal_secret``) before they enter
an event: the events, the read model and every run's snapshot hold only ciphertext, opened by the
engine when it calls the URL. A literal URL is checked by the SSRF guard when the step is saved,
and every URL again when it is called (templates and DNS can change between the two).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from uuid import UUID

from application.context import CommandContext
from application.handlers import Handlers
from application.result import Written
from application.step_types import FLOW_STEP_KINDS, StepKind
from domain.error import InvalidValue
from domain.flow import Flow, FlowNotFound
from domain.flow_step import SEALED, templated
from domain.ids import new_id
from domain.run import Run, RunNotFound

if TYPE_CHECKING:
    from application.step_types import HttpAnswer, HttpCall, HttpRequest

INPUTS_MAX = 65_536
UrlGuard = Callable[[str], None]


class FlowCommands(Handlers):
    """The handlers of the flows feature."""

    def __init__(
        self,
        ledger: Any,
        url_guard: UrlGuard | None = None,
        http: HttpCall | None = None,
        kinds: Iterable[StepKind] = FLOW_STEP_KINDS,
    ) -> None:
        super().__init__(ledger)
        self.url_guard: UrlGuard = url_guard or (lambda url: None)
        self.http: HttpCall = http or _no_http  # the port the engine's http steps call through
        # every step type the features declare (Feature.step_types), by name
        self.kinds: dict[str, StepKind] = {kind.name: kind for kind in kinds}
        self.checks = {name: kind.check for name, kind in self.kinds.items()}

    # --- flows ---------------------------------------------------------------------------

    def define_flow(
        self, context: CommandContext, owner_id: UUID, fields: Mapping[str, Any]
    ) -> Written[Flow]:
        """Define a flow (its steps inline, optionally)."""
        values = dict(fields)
        values["steps"] = self._sealed(values.get("steps") or [])
        flow = Flow.define(owner_id, **values, checks=self.checks)
        return Written(flow, self._commit(context, flow))

    def get_flow(self, owner_id: UUID, flow_id: UUID) -> Flow:
        """A flow the owner can see."""
        flow = self._load(Flow, flow_id, FlowNotFound)
        if not flow.visible_to(owner_id):
            raise FlowNotFound(flow_id)
        return flow

    def update_flow(
        self,
        context: CommandContext,
        owner_id: UUID,
        flow_id: UUID,
        changes: Mapping[str, Any],
        expected_version: int | None = None,
    ) -> Written[Flow]:
        """Change fields of a flow (``steps`` replaces all of them)."""
        changes = dict(changes)
        if "steps" in changes:
            changes["steps"] = self._sealed(changes["steps"] or [])
        return self._change_flow(
            context, owner_id, flow_id, expected_version, lambda f: f.update(changes, self.checks)
        )

    def delete_flow(
        self, context: CommandContext, owner_id: UUID, flow_id: UUID, expected_version: int | None
    ) -> Written[Flow]:
        """Delete a flow; runs in flight finish on their snapshot."""
        return self._change_flow(context, owner_id, flow_id, expected_version, Flow.delete)

    def add_step(
        self,
        context: CommandContext,
        owner_id: UUID,
        flow_id: UUID,
        raw: Mapping[str, Any],
        expected_version: int | None = None,
    ) -> tuple[Written[Flow], dict[str, Any]]:
        """Append a step to a flow; the flow and the stored step."""
        (sealed,) = self._sealed([raw])
        added: dict[str, Any] = {}
        written = self._change_flow(
            context,
            owner_id,
            flow_id,
            expected_version,
            lambda f: added.update(f.add_step(sealed, self.checks)),
        )
        return written, added

    def update_step(
        self,
        context: CommandContext,
        owner_id: UUID,
        flow_id: UUID,
        step_id: UUID,
        changes: Mapping[str, Any],
        expected_version: int | None = None,
    ) -> tuple[Written[Flow], dict[str, Any]]:
        """Change one step of a flow; the flow and the stored step."""
        changes = dict(changes)
        if "config" in changes:
            kind = changes.get("type") or changes.get("step_type")
            kind = kind or self.get_flow(owner_id, flow_id).step(step_id)["type"]
            (changes,) = self._sealed([{**changes, "type": kind}])
        changed: dict[str, Any] = {}
        written = self._change_flow(
            context,
            owner_id,
            flow_id,
            expected_version,
            lambda f: changed.update(f.update_step(step_id, changes, self.checks)),
        )
        return written, changed

    def remove_step(
        self,
        context: CommandContext,
        owner_id: UUID,
        flow_id: UUID,
        step_id: UUID,
        expected_version: int | None = None,
    ) -> Written[Flow]:
        """Remove a step no other step depends on."""
        return self._change_flow(
            context, owner_id, flow_id, expected_version, lambda f: f.remove_step(step_id)
        )

    # --- runs ----------------------------------------------------------------------------

    def start_run(
        self,
        context: CommandContext,
        owner_id: UUID,
        flow_id: UUID,
        inputs: Mapping[str, Any] | None = None,
        trigger: str = "manual",
        run_id: UUID | None = None,
    ) -> Written[Run]:
        """Start a run of a flow as it is now (the run keeps that snapshot)."""
        run = self.new_run(context, owner_id, flow_id, inputs, trigger, run_id)
        return Written(run, self._commit(context, run))

    def new_run(
        self,
        context: CommandContext,
        owner_id: UUID,
        flow_id: UUID,
        inputs: Mapping[str, Any] | None = None,
        trigger: str = "manual",
        run_id: UUID | None = None,
        trigger_id: UUID | None = None,
        *,
        flow: Flow | None = None,
    ) -> Run:
        """A run of a flow as it is now, not yet committed (a trigger commits it together
        with the outcome of its firing; ``flow``: that flow, when the trigger has loaded it)."""
        if flow is None or flow.id != flow_id or not flow.visible_to(owner_id):
            flow = self.get_flow(owner_id, flow_id)
        inputs = dict(inputs or {})
        if len(json.dumps(inputs, default=str)) > INPUTS_MAX:
            raise InvalidValue("inputs", f"must be at most {INPUTS_MAX} bytes of JSON")
        run: Run = Run._create(
            Run.Created,
            id=run_id or new_id(),
            owner_id=owner_id,
            flow_id=flow.id,
            flow_name=flow.name,
            flow_version=flow.version,
            steps=flow.steps,
            inputs=inputs,
            trigger=trigger,
            trigger_id=trigger_id,
            correlation_id=context.correlation_id,
            created_by=context.actor,
        )
        return run

    def get_run(self, owner_id: UUID, run_id: UUID) -> Run:
        """A run the owner can see."""
        run = self._load(Run, run_id, RunNotFound)
        if not run.visible_to(owner_id):
            raise RunNotFound(run_id)
        return run

    def cancel_run(
        self, context: CommandContext, owner_id: UUID, run_id: UUID, reason: str = ""
    ) -> Written[Run]:
        """Cancel a run; cancelling a cancelled run changes nothing (409 once it finished)."""
        return self._change(
            context,
            lambda: self.get_run(owner_id, run_id),
            run_id,
            None,
            lambda r: r.cancel(reason),
        )

    # --- helpers -------------------------------------------------------------------------

    def _change_flow(
        self,
        context: CommandContext,
        owner_id: UUID,
        flow_id: UUID,
        expected_version: int | None,
        change: Callable[[Flow], object],
    ) -> Written[Flow]:
        return self._change(
            context, lambda: self.get_flow(owner_id, flow_id), flow_id, expected_version, change
        )

    def _sealed(self, steps: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Steps with their http headers sealed and their literal URLs checked."""
        out = []
        for raw in steps:
            step = dict(raw)
            kind = step.get("type") or step.get("step_type")
            config = step.get("config")
            if kind == "http" and isinstance(config, dict):
                config = dict(config)
                url = config.get("url")
                if isinstance(url, str) and url and not templated(url):
                    self.url_guard(url)
                headers = config.get("headers")
                if isinstance(headers, dict):
                    config["headers"] = {k: self._seal(v) for k, v in headers.items()}
                step["config"] = config
            out.append(step)
        return out

    def _seal(self, value: Any) -> Any:
        if not isinstance(value, str) or value.startswith(SEALED):
            return value
        return SEALED + self.credentials.seal_secret(value)


def _no_http(request: HttpRequest) -> HttpAnswer:
    raise RuntimeError("no HTTP client is configured for http steps")
