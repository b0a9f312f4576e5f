"""The flows feature: flows (DAGs of steps), their runs, and the engine that drives the runs."""

from application.approval_gate import ApprovalStep
from application.flow import FlowCommands
from application.ledger import Ledger
from application.run_engine import RunEngine
from domain.flow import Flow
from domain.run import Run
from domain.run_task import RunTask
from interfaces.adapters.http_step import GuardedHttp
from interfaces.adapters.webhook_guard import check_url
from interfaces.api.routes import flow8_flows, flows, plays, processes, runs, workflows
from interfaces.feature import Feature, ReadModel, Scope, Wiring
from projections.flow import FlowProjection, FlowQueries
from projections.readers import ReaderRule
from projections.run import RunProjection, RunQueries


def guarded(ledger: Ledger, wiring: Wiring) -> list[FlowCommands]:
    """Flow commands whose http steps go through the webhooks' SSRF guard and allow list."""
    allowed = list(wiring.settings.webhook_allowed_hosts)
    return [FlowCommands(ledger, lambda url: check_url(url, allowed), GuardedHttp(allowed))]


FEATURE = Feature(
    name="flows",
    read_models=(
        ReadModel(lambda rules: FlowProjection(), FlowQueries),
        ReadModel(lambda rules: RunProjection(), RunQueries),
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
    reactors=(lambda ledger, query: RunEngine(ledger, {"approval": ApprovalStep()}),),
    wire=guarded,
)
