"""Agent commands: register, change, start/stop, rotate the token, delete; and the status
changes heartbeats cause (the heartbeat figures themselves are not events: see
``application/liveness.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from uuid import UUID

from application.agent_token import AgentClaims, AgentTokens
from application.context import CommandContext
from application.error import ConcurrentChange, InvalidToken
from application.handlers import Handlers
from application.ledger import Ledger
from application.liveness import Liveness, MemoryLiveness
from application.result import Written
from domain.agent import Agent, AgentExists, AgentNotFound, AgentStatus

# A heartbeat's status word -> the agent's status (DevFlow sends "ready").
HEARTBEAT_STATUS = {"ready": "idle", "idle": "idle", "busy": "busy", "error": "error"}


class AgentCommands(Handlers):
    """The handlers of the agents feature."""

    def __init__(
        self,
        ledger: Ledger,
        tokens: AgentTokens,
        liveness: Liveness | None = None,
        offline_after: timedelta = timedelta(seconds=60),
    ) -> None:
        super().__init__(ledger)
        self.tokens = tokens
        self.liveness: Liveness = liveness or MemoryLiveness()
        self.offline_after = offline_after

    def register_agent(
        self, context: CommandContext, owner_id: UUID, agent_key: str, profile: Mapping[str, Any]
    ) -> tuple[Written[Agent], str, Any]:
        """Register the owner's agent under ``agent_key``; the agent, its token and expiry.

        The id is uuid5(owner, key): a second registration collides on version 1 (409)."""
        agent = Agent.register(owner_id, agent_key, profile)
        try:
            position = self._commit(context, agent)
        except ConcurrentChange:
            raise AgentExists() from None
        token, expires = self.tokens.issue(agent.id, owner_id, agent.token_generation)
        return Written(agent, position), token, expires

    def get_agent(self, owner_id: UUID, agent_id: UUID) -> Agent:
        """An agent the owner can see."""
        agent = self._load(Agent, agent_id, AgentNotFound)
        if not agent.visible_to(owner_id):
            raise AgentNotFound(agent_id)
        return agent

    def agent_for_token(self, claims: AgentClaims) -> Agent:
        """The live agent a verified token names, if that token is of its current generation."""
        try:
            agent = self.get_agent(claims.owner_id, claims.agent_id)
        except AgentNotFound:
            raise InvalidToken() from None
        if agent.token_generation != claims.generation:
            raise InvalidToken()
        return agent

    def update_agent(
        self,
        context: CommandContext,
        owner_id: UUID,
        agent_id: UUID,
        changes: Mapping[str, Any],
        expected_version: int | None = None,
    ) -> Written[Agent]:
        """Change profile fields of the owner's agent."""
        return self._change_agent(context, owner_id, agent_id, expected_version, changes)

    def start_agent(
        self, context: CommandContext, owner_id: UUID, agent_id: UUID
    ) -> Written[Agent]:
        """Enable the agent (idle)."""
        return self._change(context, self._loader(owner_id, agent_id), agent_id, None, Agent.start)

    def stop_agent(self, context: CommandContext, owner_id: UUID, agent_id: UUID) -> Written[Agent]:
        """Disable the agent (offline); a reactor puts its leased tasks back in the queue."""
        return self._change(context, self._loader(owner_id, agent_id), agent_id, None, Agent.stop)

    def delete_agent(
        self,
        context: CommandContext,
        owner_id: UUID,
        agent_id: UUID,
        expected_version: int | None = None,
    ) -> Written[Agent]:
        """Soft delete: the token stops working; a reactor releases the agent's leases."""
        loader = self._loader(owner_id, agent_id)
        return self._change(context, loader, agent_id, expected_version, Agent.delete)

    def rotate_token(
        self, context: CommandContext, owner_id: UUID, agent_id: UUID
    ) -> tuple[Written[Agent], str, Any]:
        """A new token for the agent; the previous ones stop working."""
        loader = self._loader(owner_id, agent_id)
        written = self._change(context, loader, agent_id, None, Agent.rotate_token)
        agent = written.aggregate
        token, expires = self.tokens.issue(agent.id, owner_id, agent.token_generation)
        return written, token, expires

    def heartbeat_status(
        self, context: CommandContext, agent: Agent, reported: str
    ) -> Written[Agent] | None:
        """Record the status a heartbeat reports, when it differs (None: nothing changed)."""
        wanted = HEARTBEAT_STATUS.get(reported, AgentStatus.IDLE.value)
        if agent.status == wanted or not agent.enabled:
            return None
        loader = self._loader(agent.owner_id, agent.id)
        return self._change(context, loader, agent.id, None, lambda a: a.set_status(wanted))

    def mark_offline(self, context: CommandContext, agent_id: UUID) -> bool:
        """The agent stopped heartbeating: offline (a reactor then releases its leases)."""
        try:
            agent = self._load(Agent, agent_id, AgentNotFound)
        except AgentNotFound:
            return False
        if agent.deleted or agent.status == AgentStatus.OFFLINE.value:
            return False
        loader = self._loader(agent.owner_id, agent_id)
        self._change(context, loader, agent_id, None, lambda a: a.set_status("offline"))
        return True

    def _loader(self, owner_id: UUID, agent_id: UUID) -> Any:
        return lambda: self.get_agent(owner_id, agent_id)

    def _change_agent(
        self,
        context: CommandContext,
        owner_id: UUID,
        agent_id: UUID,
        expected_version: int | None,
        changes: Mapping[str, Any],
    ) -> Written[Agent]:
        loader = self._loader(owner_id, agent_id)
        return self._change(
            context, loader, agent_id, expected_version, lambda a: a.update(changes)
        )
