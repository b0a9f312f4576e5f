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
from domain.agent import Agent
from interfaces.adapters.agent_liveness import RedisLiveness
from interfaces.api.routes import agents, dead_letter, devflow, task_reports
from interfaces.feature import Feature, ReadModel, Scope, Wiring
from projections.agent import AgentProjection, AgentQueries
from projections.readers import ReaderRule
from projections.task_dispatch import DispatchQueries


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


FEATURE = Feature(
    name="agents",
    read_models=(
        ReadModel(lambda rules: AgentProjection(), AgentQueries),
        ReadModel(None, DispatchQueries),  # over the tasks table,
    ),
    routers=(task_reports.router, dead_letter.router, agents.router, devflow.router),
    scopes=(
        Scope("/api/v1/agents", read="agents:read", write="agents:write"),
        Scope("/api/agents", read="agents:read", write="agents:write"),
        Scope("/api/tasks", read="tasks:read", write="tasks:write"),
        Scope("/api/workflows", read=None, write="agents:write"),
    ),
    readers=(ReaderRule(Agent, lambda created: created.owner_id),),
    reactors=(lambda ledger, query: AgentLeases(ledger, query(DispatchQueries)),),
    wire=handlers,
)
