"""The agents feature: registration with agent tokens, leased commands (task dispatch),
heartbeats, reports, DevFlow's paths and the tasks' dead-letter queue; agents by status and
queued tasks by intent in /metrics, the agents section of the analytics overview, per-agent
performance, the workers' utilization and the agents export."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from application.agent import AgentCommands
from application.agent_reactor import AgentLeases
from application.agent_step import AGENT_STEP, StepTaskOutcomes
from application.agent_token import AgentTokens
from application.dispatch import DispatchCommands
from application.handlers import Handlers
from application.ledger import Ledger
from application.liveness import Liveness, MemoryLiveness
from application.worker import WorkerCommands
from domain.agent import Agent
from domain.worker import Worker
from interfaces.adapters.agent_liveness import RedisLiveness
from interfaces.analytics import Analytics, Export, QueryLookup, Window
from interfaces.api.agent_presenters import COMMANDS, HEARTBEAT, LIST, REGISTER, REPORT
from interfaces.api.alias import Alias
from interfaces.api.routes import agents, dead_letter, devflow, task_reports, workers
from interfaces.feature import Feature, ReadModel, Scope, Wiring
from interfaces.metrics import Sampled, count_by
from projections.agent import AgentProjection, AgentQueries
from projections.agent_numbers import AgentNumbers
from projections.readers import ReaderRule
from projections.task_dispatch import DispatchQueries
from projections.worker import WorkerProjection, WorkerQueries

AGENT_COLUMNS = (
    "agent_id",
    "agent_key",
    "name",
    "status",
    "enabled",
    "role",
    "platform",
    "agent_version",
    "capabilities",
    "worker_id",
    "created_at",
    "updated_at",
)
FIGURES = ("cpu_usage_percent", "memory_usage_percent", "disk_usage_percent")
# Tasks waiting for an agent (pinned to one, or with an intent), not leased, not dead letters.
QUEUED = (
    "WHERE status = 'not_started' AND (intent IS NOT NULL OR agent_id IS NOT NULL)"
    " AND lease_agent_id IS NULL AND dead_lettered_at IS NULL"
)


def _overview(lookup: QueryLookup, scope: Window) -> dict[str, Any]:
    numbers: AgentNumbers = lookup(AgentNumbers)
    return numbers.overview(scope.owner_id)


def _performance(lookup: QueryLookup, scope: Window) -> list[dict[str, Any]]:
    liveness = lookup(AgentCommands).liveness
    numbers: AgentNumbers = lookup(AgentNumbers)
    rows = numbers.performance(scope.owner_id, scope.first, scope.last)
    for row in rows:  # registering counts as the first heartbeat (as the agent endpoints say)
        registered = row.pop("created_at")
        row["last_heartbeat_at"] = liveness.last_seen(row["agent_id"]) or registered
    return rows


def _utilization(lookup: QueryLookup, scope: Window) -> list[dict[str, Any]]:
    liveness = lookup(AgentCommands).liveness
    numbers: AgentNumbers = lookup(AgentNumbers)
    rows = numbers.workers(scope.owner_id)
    for row in rows:
        figures = liveness.figures(row["worker_id"])
        row |= {key: figures.get(key) for key in FIGURES}
        row["last_heartbeat_at"] = liveness.last_seen(row["worker_id"])
    return rows


def _agent_rows(lookup: QueryLookup, scope: Window) -> Any:
    return lookup(AgentNumbers).stream(scope.owner_id, AGENT_COLUMNS)


def handlers(ledger: Ledger, wiring: Wiring) -> Iterable[Handlers]:
    """Agent commands with their token issuer and liveness store; dispatch with its lease."""
    settings = wiring.settings
    liveness: Liveness = (
        RedisLiveness(settings.redis_url) if settings.redis_url else MemoryLiveness()
    )
    tokens = AgentTokens(settings.secret_key.get_secret_value())
    offline_after = timedelta(seconds=settings.agent_offline_after)
    yield AgentCommands(ledger, tokens, liveness, offline_after)
    yield DispatchCommands(ledger, settings.agent_lease_seconds)
    yield WorkerCommands(ledger)


REPORTS = ("progress", "complete", "fail")
AGENT = "/api/v1/agents/{agent_id}"
TASK = "/api/v1/tasks/{task_id}"
# DevFlow's agent API (003:L13-202); its GET /api/tasks/:task_id is the tasks feature's alias.
DEVFLOW = (
    Alias("POST", "/api/agents", "/api/v1/agents", REGISTER),
    Alias("GET", "/api/agents", "/api/v1/agents", LIST),
    Alias("GET", "/api/agents/{agent_id}/commands", f"{AGENT}/commands", COMMANDS),
    Alias("POST", "/api/agents/{agent_id}/heartbeat", f"{AGENT}/heartbeat", HEARTBEAT),
    *(Alias("POST", f"/api/tasks/{{task_id}}/{r}", f"{TASK}/{r}", REPORT) for r in REPORTS),
)


FEATURE = Feature(
    name="agents",
    read_models=(
        ReadModel(lambda rules: AgentProjection(), AgentQueries),
        ReadModel(None, DispatchQueries),  # over the tasks table
        ReadModel(lambda rules: WorkerProjection(), WorkerQueries),
        ReadModel(None, AgentNumbers),  # over agents, tasks, workers: analytics, the export
    ),
    routers=(
        task_reports.router,
        dead_letter.router,
        agents.router,
        devflow.router,
        workers.router,
        workers.admin_router,
    ),
    scopes=(
        Scope("/api/v1/agents", read="agents:read", write="agents:write"),
        Scope("/api/workflows", read=None, write="agents:write"),
        Scope("/api/v1/workers", read="agents:read", write="agents:write"),
    ),
    readers=(
        ReaderRule(Agent, lambda created: created.owner_id),
        ReaderRule(Worker, lambda created: created.owner_id),
    ),
    aliases=DEVFLOW,
    reactors=(
        lambda ledger, query: AgentLeases(ledger, query(DispatchQueries)),
        lambda ledger, query: StepTaskOutcomes(ledger),  # a run's agent steps finish
    ),
    step_types=(AGENT_STEP,),  # a flow step that dispatches a task to agents
    wire=handlers,
    metrics=(
        Sampled(
            "ledgerflow_agents",
            "Agents by status",
            ("status",),
            count_by("agents", "status", tracked=True),
        ),
        Sampled(
            "ledgerflow_tasks_queued",
            "Tasks waiting for an agent, by intent (empty: pinned to an agent without one)",
            ("intent",),
            count_by("tasks", "coalesce(intent, '')", QUEUED, tracked=True),
        ),
    ),
    analytics=(
        Analytics("overview.agents", _overview, "agents"),
        Analytics("agents", _performance, "agents"),
        Analytics("workers", _utilization, "workers"),
    ),
    exports=(Export("agents", AGENT_COLUMNS, _agent_rows, "agents"),),
)
