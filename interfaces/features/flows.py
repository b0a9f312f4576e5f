"""The flows feature: flows (DAGs of steps), their runs, and the engine that drives the runs;
runs by status in /metrics, the runs section of the analytics overview and the runs export."""

from typing import Any

from application.agent_step import AgentStep
from application.approval_gate import ApprovalStep
from application.flow import FlowCommands
from application.ledger import Ledger
from application.run_engine import RunEngine
from domain.flow import Flow
from domain.run import Run
from domain.run_task import RunTask
from interfaces.adapters.http_step import GuardedHttp
from interfaces.adapters.webhook_guard import check_url
from interfaces.analytics import Analytics, Export, QueryLookup, Window
from interfaces.api.routes import flow8_flows, flows, plays, processes, runs, workflows
from interfaces.feature import Feature, ReadModel, Scope, Wiring
from interfaces.metrics import Sampled, count_by
from projections.flow import FlowProjection, FlowQueries
from projections.readers import ReaderRule
from projections.run import RunProjection, RunQueries
from projections.run_numbers import RunNumbers

RUN_COLUMNS = (
    "run_id",
    "flow_id",
    "flow_name",
    "flow_version",
    "status",
    "trigger",
    "created_by",
    "correlation_id",
    "created_at",
    "started_at",
    "completed_at",
    "error",
    "steps_total",
    "steps_succeeded",
    "steps_failed",
)


def _overview(lookup: QueryLookup, scope: Window) -> dict[str, Any]:
    numbers: RunNumbers = lookup(RunNumbers)
    return numbers.overview(scope.owner_id, scope.first, scope.last)


def _run_rows(lookup: QueryLookup, scope: Window) -> Any:
    return lookup(RunNumbers).stream(scope.owner_id, RUN_COLUMNS)


def guarded(ledger: Ledger, wiring: Wiring) -> list[FlowCommands]:
    """Flow commands whose http steps go through the webhooks' SSRF guard and allow list."""
    allowed = list(wiring.settings.webhook_allowed_hosts)
    return [FlowCommands(ledger, lambda url: check_url(url, allowed), GuardedHttp(allowed))]


FEATURE = Feature(
    name="flows",
    read_models=(
        ReadModel(lambda rules: FlowProjection(), FlowQueries),
        ReadModel(lambda rules: RunProjection(), RunQueries),
        ReadModel(None, RunNumbers),  # over the runs table: analytics and the export
    ),
    routers=(
        flows.router,
        runs.router,
        workflows.router,
        flow8_flows.router,
        plays.router,
        processes.router,
    ),
    scopes=(
        Scope("/api/v1/flows", read="flows:read", write="flows:write"),
        Scope("/api/v1/runs", read="flows:read", write="flows:write"),
        Scope("/api/v1/workflows", read="flows:read", write="flows:write"),
        Scope("/api/v1/processes", read="flows:read", write="flows:write"),
        Scope("/api/flows", read="flows:read", write="flows:write"),
        Scope("/api/plays", read="flows:read", write="flows:write"),
    ),
    readers=(
        ReaderRule(Flow, lambda created: created.owner_id),
        ReaderRule(Run, lambda created: created.owner_id),
        ReaderRule(RunTask, None),  # internal: the engine's link from a task to its step
    ),
    reactors=(
        lambda ledger, query: RunEngine(
            ledger, step_types={"agent": AgentStep(), "approval": ApprovalStep()}
        ),
    ),
    wire=guarded,
    metrics=(
        Sampled("ledgerflow_runs", "Runs by status", ("status",), count_by("runs", "status")),
    ),
    analytics=(Analytics("overview.runs", _overview, "runs"),),
    exports=(Export("runs", RUN_COLUMNS, _run_rows, "runs"),),
)
