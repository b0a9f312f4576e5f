"""The agents feature: registration with agent tokens, leased commands (task dispatch),
heartbeats, reports, DevFlow's paths and the tasks' dead-letter queue."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from application.agent import AgentCommands
from application.agent_reactor import AgentLeases
from application.agent_token import AgentTokens
from application.dispatch import DispatchCommands
from application.handlers import Handlers
from application.ledger import Ledger
from application.liveness import Liveness, MemoryLiveness
from application.worker import WorkerCommands
from domain.agent import Agent
from domain.worker import Worker
from interfaces.adapters.agent_liveness import RedisLiveness
from interfaces.api.agent_presenters import COMMANDS, HEARTBEAT, LIST, REGISTER, REPORT
from interfaces.api.alias import Alias
from interfaces.api.routes import agents, dead_letter, devflow, task_reports, workers
from interfaces.feature import Feature, ReadModel, Scope, Wiring
from projections.agent import AgentProjection, AgentQueries
from projections.readers import ReaderRule
from projections.task_dispatch import DispatchQueries
from projections.worker import WorkerProjection, WorkerQueries


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
    reactors=(lambda ledger, query: AgentLeases(ledger, query(DispatchQueries)),),
    wire=handlers,
)
