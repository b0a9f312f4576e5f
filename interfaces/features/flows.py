"""The flows feature: flows (DAGs of steps), their runs, and the engine that drives the runs;
runs by status in /metrics, the runs section of the analytics overview and the runs export."""

from typing import Any

from application.flow import FlowCommands
from application.ledger import Ledger
from application.run_engine import RunEngine
from application.step_types import FLOW_STEP_KINDS
from domain.flow import Flow
from domain.run import Run
from domain.run_task import RunTask
from interfaces.adapters.http_step import GuardedHttp
from interfaces.adapters.webhook_guard import check_url
from interfaces.analytics import Analytics, Export, QueryLookup, Window
from interfaces.api.alias import Alias, Presenter
from interfaces.api.flow_presenters import (
    EXECUTE,
    FLOW8_WRITE,
    flow8_object,
    flow8_page,
    identified,
    listed,
)
from interfaces.api.routes import flows, processes, runs
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
    """Flow commands that know every feature's step types, and whose http steps go through the
    webhooks' SSRF guard and allow list."""
    allowed = list(wiring.settings.webhook_allowed_hosts)
    guard = GuardedHttp(allowed)
    return [FlowCommands(ledger, lambda url: check_url(url, allowed), guard, wiring.step_kinds)]


FLOW = "/api/v1/flows/{flow_id}"
STEP = "/api/v1/flows/{flow_id}/steps/{step_id}"
RUN = "/api/v1/runs/{run_id}"

# 002 (002:L61-65; its trailing slashes are served by the path rules): objects also carry id.
WORKFLOWS = (
    Alias(
        "GET",
        "/api/v1/workflows",
        "/api/v1/flows",
        Presenter(answer=listed("flow_id", "workflows")),
    ),
    Alias("POST", "/api/v1/workflows", "/api/v1/flows", Presenter(answer=identified("flow_id"))),
    Alias("GET", "/api/v1/workflows/{id}", FLOW, Presenter(answer=identified("flow_id"))),
    Alias("DELETE", "/api/v1/workflows/{id}", FLOW),
    Alias(
        "POST",
        "/api/v1/workflows/{id}/steps",
        f"{FLOW}/steps",
        Presenter(answer=identified("step_id")),
    ),
)
# flow8 (004:L77-95): flows, their layers (steps) and plays (runs).
FLOW8 = (
    Alias("GET", "/api/flows", "/api/v1/flows", flow8_page("flow_id")),
    Alias("POST", "/api/flows", "/api/v1/flows", flow8_object("flow_id")),
    Alias("GET", "/api/flows/{id}", FLOW, flow8_object("flow_id")),
    Alias("PUT", "/api/flows/{id}", FLOW, flow8_object("flow_id")),
    Alias("DELETE", "/api/flows/{id}", FLOW, FLOW8_WRITE),
    Alias(
        "POST",
        "/api/flows/{id}/run",
        f"{FLOW}/runs",
        flow8_object("run_id", location=("/api/v1/runs/", "/api/plays/")),
    ),
    Alias("GET", "/api/flows/{id}/layers", f"{FLOW}/steps", flow8_page("step_id")),
    Alias("POST", "/api/flows/{id}/layers", f"{FLOW}/steps", flow8_object("step_id")),
    Alias("PUT", "/api/flows/{id}/layers/{layer_id}", STEP, flow8_object("step_id")),
    Alias("DELETE", "/api/flows/{id}/layers/{layer_id}", STEP, FLOW8_WRITE),
    Alias("GET", "/api/plays", "/api/v1/runs", flow8_page("run_id")),
    Alias("GET", "/api/plays/{id}", RUN, flow8_object("run_id")),
    Alias("GET", "/api/plays/{id}/layers", f"{RUN}/steps", flow8_page("step_id")),
    # "Cancel a running play" (004:L95): the play stays readable, cancelled
    Alias("DELETE", "/api/plays/{id}", f"{RUN}/cancel", flow8_object("run_id"), "POST"),
    # "Approve a pending step" (004:L94): a vote on the play's waiting approval step
    Alias("POST", "/api/plays/{id}/approve", f"{RUN}/approve", flow8_object("run_id")),
)
# Behflow (000:L160-188): a process is a flow; executing it starts a run, answered 200.
PROCESSES_ = (
    # GET /api/v1/processes is a route of its own (routes/processes.py): it joins the triggers.
    Alias("POST", "/api/v1/processes/{process_id}/execute", f"{FLOW}/runs", EXECUTE),
)


FEATURE = Feature(
    name="flows",
    read_models=(
        ReadModel(lambda rules: FlowProjection(), FlowQueries),
        ReadModel(lambda rules: RunProjection(), RunQueries),
        ReadModel(None, RunNumbers),  # over the runs table: analytics and the export
    ),
    # processes: Behflow's list with its triggers' fields
    routers=(flows.router, runs.router, processes.router),
    scopes=(
        Scope("/api/v1/flows", read="flows:read", write="flows:write"),
        Scope("/api/v1/runs", read="flows:read", write="flows:write"),
        Scope("/api/plays", read="flows:read", write="flows:write"),
    ),
    aliases=(*WORKFLOWS, *FLOW8, *PROCESSES_),
    readers=(
        ReaderRule(Flow, lambda created: created.owner_id),
        ReaderRule(Run, lambda created: created.owner_id),
        ReaderRule(RunTask, None),  # internal: the engine's link from a task to its step
    ),
    # its executors come from every feature's step types (FlowCommands.kinds)
    reactors=(lambda ledger, query: RunEngine(ledger),),
    step_types=FLOW_STEP_KINDS,  # task, http, delay; agent and approval are their features'
    wire=guarded,
    metrics=(
        Sampled("ledgerflow_runs", "Runs by status", ("status",), count_by("runs", "status")),
    ),
    analytics=(Analytics("overview.runs", _overview, "runs"),),
    exports=(Export("runs", RUN_COLUMNS, _run_rows, "runs"),),
)
