"""Agent message commands: send a message between two agents, mark it read."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from application.context import CommandContext
from application.handlers import Handlers
from application.result import Written
from domain.agent_message import AgentMessage, MessageNotFound


class MessageCommands(Handlers):
    """The handlers of the agent messages feature.

    The agents are not checked yet: the agents feature (issue 15) will refuse agents the owner
    does not have, here, in ``send_message``.
    """

    def send_message(
        self,
        context: CommandContext,
        owner_id: UUID,
        sender_agent_id: UUID,
        recipient_agent_id: UUID,
        channel: str,
        subject: str,
        body: str,
    ) -> Written[AgentMessage]:
        """Send a message from one of the owner's agents to another."""
        message = AgentMessage.send(
            owner_id, sender_agent_id, recipient_agent_id, channel, subject, body
        )
        return Written(message, self._commit(context, message))

    def mark_read(
        self, context: CommandContext, owner_id: UUID, message_id: UUID
    ) -> Written[AgentMessage]:
        """Mark a message read (again: nothing changes, and position 0 says so)."""
        found = self.message(owner_id, message_id)
        if found.read_at is not None:
            return Written(found, 0)
        now = datetime.now(UTC)
        return self._change(
            context,
            lambda: self.message(owner_id, message_id),
            message_id,
            None,
            lambda message: message.mark_read(now),
        )

    def message(self, owner_id: UUID, message_id: UUID) -> AgentMessage:
        """A message the owner may see."""
        found = self._load(AgentMessage, message_id, MessageNotFound)
        if found.owner_id != owner_id:
            raise MessageNotFound(message_id)
        return found
