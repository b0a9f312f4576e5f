"""Who calls an agent endpoint: the agent itself (its agent token) or the agent's owner (a user
token, as DevFlow's own example does). An agent token works only here: the access-token check of
every other route refuses its ``typ``.

Path ids accept DevFlow's prefixed form (``agent-<uuid>``, ``task-<uuid>``); an agent id that is
not a UUID is read as the owner's ``agentId`` key (uuid5(owner, key)); anything else is 404.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from application.agent import AgentCommands
from application.context import CommandContext
from application.dispatch import Reporter
from application.error import InvalidToken
from domain.agent import Agent, AgentNotFound, agent_id_for
from domain.task import TaskNotFound
from interfaces.api.agent_view import parse_id
from interfaces.api.deps import _authorization, bearer, principal_of


@dataclass(frozen=True)
class Caller:
    """An authenticated caller of an agent endpoint."""

    owner_id: UUID
    agent_id: UUID | None  # set when the agent's own token was presented
    context: CommandContext
    agent: Agent | None = field(default=None, compare=False)  # loaded to check that token

    @property
    def reporter(self) -> Reporter:
        """Who reports on a task: the agent (which must hold the lease) or the owner."""
        return Reporter(self.owner_id, self.agent_id)


async def agent_or_owner(
    request: Request,
    authorization: Annotated[str | None, Depends(_authorization)],
) -> Caller:
    """The agent (agent token) or the user (access token or API key) calling."""
    if not authorization:
        raise InvalidToken()
    token = bearer(authorization)
    agents: AgentCommands = request.app.state.container.ledger[AgentCommands]
    rid = request.state.request_id
    if agents.tokens.looks_like_agent_token(token):
        claims = agents.tokens.verify(token)
        agent = await run_in_threadpool(agents.agent_for_token, claims)
        request.state.principal_kind = "agent"  # for the access log
        context = CommandContext(actor=f"agent:{agent.id}", correlation_id=rid, request_id=rid)
        return Caller(agent.owner_id, agent.id, context, agent)
    principal = await principal_of(request, authorization)
    if request.method != "GET" or request.url.path.endswith("/commands"):  # a poll leases
        principal.require_writer()
    return Caller(principal.user_id, None, CommandContext.for_user(principal.user_id, rid))


CallerDep = Annotated[Caller, Depends(agent_or_owner)]


def owned_agent_id(owner_id: UUID, raw: str) -> UUID:
    """The id of the owner's agent a path names: a UUID, ``agent-<uuid>``, or its key."""
    return parse_id(raw, "agent") or agent_id_for(owner_id, raw)


def agent_path_id(caller: Caller, raw: str) -> UUID:
    """The agent a path names, for this caller (404 when it cannot be this caller's)."""
    found = owned_agent_id(caller.owner_id, raw)
    if caller.agent_id is not None and found != caller.agent_id:
        raise AgentNotFound(raw)  # an agent token works for its own agent only
    return found


def task_path_id(raw: str) -> UUID:
    """The task a path names (``task-<uuid>`` accepted); 404 when it is not an id."""
    found = parse_id(raw, "task")
    if found is None:
        raise TaskNotFound(raw)
    return found


async def load_agent(request: Request, caller: Caller, raw: str) -> Agent:
    """The caller's agent the path names (an agent token's own, as loaded to check the token)."""
    found = agent_path_id(caller, raw)
    if caller.agent is not None and caller.agent.id == found:
        return caller.agent
    agents: AgentCommands = request.app.state.container.ledger[AgentCommands]
    return await run_in_threadpool(agents.get_agent, caller.owner_id, found)
