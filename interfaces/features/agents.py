"""The agents feature: registration with agent tokens, leased commands (task dispatch),
heartbeats, reports, DevFlow's paths and the tasks' dead-letter queue."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from application.agent import AgentCommands
from application.agent_reactor import AgentLeases
from application.agent_step import StepTaskOutcomes
from application.agent_token import AgentTokens
from application.dispatch import DispatchCommands
from application.handlers import Handlers
from application.ledger import Ledger
from application.liveness import Liveness, MemoryLiveness
from application.worker import WorkerCommands
from domain.agent import Agent
from domain.worker import Worker
from interfaces.adapters.agent_liveness import RedisLiveness
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
        Scope("/api/agents", read="agents:read", write="agents:write"),
        Scope("/api/tasks", read="tasks:read", write="tasks:write"),
        Scope("/api/workflows", read=None, write="agents:write"),
        Scope("/api/v1/workers", read="agents:read", write="agents:write"),
    ),
    readers=(
        ReaderRule(Agent, lambda created: created.owner_id),
        ReaderRule(Worker, lambda created: created.owner_id),
    ),
    reactors=(
        lambda ledger, query: AgentLeases(ledger, query(DispatchQueries)),
        lambda ledger, query: StepTaskOutcomes(ledger),  # a run's agent steps finish
    ),
    wire=handlers,
)
