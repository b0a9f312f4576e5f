"""What the agent endpoints do, shared by the canonical routes (``/api/v1/...``) and DevFlow's
(``/api/...``), which differ only in their presenter. Everything here answers canonical shapes.

Polling with ``wait`` is a long poll served by the process's ``LeaseBroker``: woken by the log
reader's news of a queued task (leased by id before the tasks read model has it) or by the tasks
read model's commit notification (the position watch), never a loop on the database. An idle
agent's poll costs one query when it arrives (what it holds) and its share of one queue query;
while it waits, only news of tasks costs anything.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import Request
from limits import parse, storage
from limits.aio import strategies as aio_strategies
from starlette.concurrency import run_in_threadpool

from application.agent import AgentCommands
from application.context import CommandContext
from application.dispatch import DispatchCommands
from domain.agent import Agent
from domain.error import InvalidValue
from domain.task import Task
from interfaces.api.agent_auth import Caller, load_agent
from interfaces.api.agent_broker import LeaseBroker
from interfaces.api.agent_schemas import AgentIn
from interfaces.api.agent_view import agent_out, command_out, step_task_ids
from interfaces.api.consistency import Consistency
from interfaces.api.errors import TooManyAttempts
from interfaces.api.rate_limit import _limits_uri
from interfaces.api.schemas import page_fields
from interfaces.container import Container
from projections.agent import AgentQueries
from projections.task_dispatch import DispatchQueries

MAX_WAIT = 30.0


class HeartbeatLimit:
    """DevFlow's "Heartbeat: 10 requests/minute per agent", shared across instances through
    Redis when configured; a heartbeat goes through while the limiter's store is down."""

    def __init__(self, rate: str, redis_url: str | None) -> None:
        self.item = parse(rate)
        options: dict[str, Any] = {"implementation": "redispy"} if redis_url else {}
        store = storage.storage_from_string(_limits_uri(redis_url, "async+"), **options)
        self.limiter = aio_strategies.FixedWindowRateLimiter(store)

    async def hit(self, agent_id: UUID) -> None:
        """Count a heartbeat; TooManyAttempts (429, Retry-After) past the limit."""
        try:
            if await self.limiter.hit(self.item, "heartbeat", str(agent_id)):
                return
            stats = await self.limiter.get_window_stats(self.item, "heartbeat", str(agent_id))
        except Exception:  # the store is down: let the heartbeat through
            return
        raise TooManyAttempts(max(1.0, stats.reset_time - time.time()))


def _limit(request: Request) -> HeartbeatLimit:
    state = request.app.state
    found: HeartbeatLimit | None = getattr(state, "heartbeat_limit", None)
    if found is None:
        settings = _container(request).settings
        found = HeartbeatLimit(settings.agent_heartbeat_rate_limit, settings.redis_url)
        state.heartbeat_limit = found
    return found


def _container(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


def _broker(request: Request) -> LeaseBroker:
    state = request.app.state
    broker: LeaseBroker | None = getattr(state, "lease_broker", None)
    if broker is None:
        container = _container(request)
        consistency: Consistency = state.consistency
        queries = container.query(DispatchQueries)
        broker = state.lease_broker = LeaseBroker(
            container.ledger[DispatchCommands],
            queries,
            lambda: container.watch.position(queries.name),
            consistency.wrote,
        )
        broker.follow(container.follow_log())  # news of tasks from every process's commits
        container.watch.add_listener(broker.changed)
    return broker


def agents_of(request: Request) -> AgentCommands:
    """The agents' handlers."""
    return _container(request).ledger[AgentCommands]


def present(request: Request, agent: Agent | dict[str, Any]) -> dict[str, Any]:
    """The canonical AgentOut of an aggregate or row, with its last heartbeat."""
    agent_id = agent.id if isinstance(agent, Agent) else agent["agent_id"]
    return agent_out(agent, agents_of(request).liveness.last_seen(agent_id))


async def poll(
    request: Request, caller: Caller, raw_agent: str, limit: int, wait: float
) -> list[dict[str, Any]]:
    """The commands leased to the agent: those it holds plus up to ``limit`` new leases; with
    ``wait``, wait up to that many seconds for work when there is none."""
    agent = await load_agent(request, caller, raw_agent)
    agent.ensure_dispatchable()
    container = _container(request)
    consistency: Consistency = request.app.state.consistency
    dispatch = container.ledger[DispatchCommands]
    queries = container.query(DispatchQueries)
    wait = min(max(wait, 0.0), MAX_WAIT)

    def held() -> list[dict[str, Any]]:
        if wait <= 0:  # a long poll is woken by the owner's new tasks; this one reads them now
            consistency.settle_own_writes(queries.name, agent.owner_id)
        return queries.held(agent.id, dispatch.clock())

    # the agent's own reports and leases, waited for without holding a thread (one per agent)
    await consistency.settle_async(queries.name, agent.id)
    rows = await run_in_threadpool(held)
    # holding commands, the poll answers at once (with what one pass adds)
    leased = await _broker(request).take(agent, caller.context, limit, 0 if rows else wait)
    found = {row["task_id"] for row in rows}
    tasks: list[Task | dict[str, Any]] = [*rows, *(t for t in leased if t.id not in found)]
    if not tasks:
        return []
    ids = step_task_ids(tasks)
    steps = await run_in_threadpool(dispatch.run_steps, ids) if ids else {}
    return [command_out(t, steps) for t in tasks]


async def heartbeat(
    request: Request, caller: Caller, raw_agent: str, figures: dict[str, Any]
) -> dict[str, Any]:
    """Remember the heartbeat (not an event); record a status change if it reports one."""
    agent = await load_agent(request, caller, raw_agent)
    await _limit(request).hit(agent.id)
    agents = agents_of(request)
    agents.liveness.beat(agent.id, datetime.now(UTC), figures)
    reported = str(figures.get("status") or "ready")
    written = await run_in_threadpool(agents.heartbeat_status, caller.context, agent, reported)
    status = written.aggregate.status if written else agent.status
    interval = _container(request).settings.agent_poll_interval_ms
    return {"success": True, "next_poll_interval_ms": interval, "status": status}


async def register(
    request: Request, body: AgentIn, owner_id: UUID, context: CommandContext
) -> tuple[dict[str, Any], int]:
    """Register the caller's agent: the canonical answer (with the token, returned this once)
    and its position."""
    key = body.agent_key or body.name
    if key is None:
        raise InvalidValue("agent_key", "is required")
    agents = agents_of(request)
    done, token, expires = await run_in_threadpool(
        agents.register_agent, context, owner_id, key, body.profile()
    )
    consistency: Consistency = request.app.state.consistency
    await consistency.wrote_async(owner_id, done.position)
    out = {"success": True, "agent": present(request, done.aggregate)}
    return {**out, "token": token, "token_expires_at": expires}, done.position


async def list_agents(
    request: Request,
    owner_id: UUID,
    statuses: list[str] | None,
    capability: str | None,
    role: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """A page of the owner's agents (canonical shape)."""
    agents = _container(request).query(AgentQueries)
    consistency: Consistency = request.app.state.consistency

    def read() -> tuple[list[dict[str, Any]], int]:
        consistency.settle_own_writes(agents.name, owner_id)
        return agents.list(owner_id, statuses, capability, role, limit, offset)

    rows, total = await run_in_threadpool(read)
    found = [present(request, row) for row in rows]
    return {"agents": found, **page_fields(total, limit, offset, len(found))}
