"""The agent messages feature: 002's messages between a user's agents (CONTRACT C.2)."""

from application.agent_message import MessageCommands
from domain.agent_message import AgentMessage
from interfaces.api.routes import agent_messages
from interfaces.feature import Feature, ReadModel, Scope
from projections.agent_message import AgentMessageProjection, AgentMessageQueries
from projections.readers import ReaderRule

FEATURE = Feature(
    name="agent_messages",
    handlers=(MessageCommands,),
    read_models=(ReadModel(lambda rules: AgentMessageProjection(), AgentMessageQueries),),
    routers=(agent_messages.router,),
    scopes=(Scope("/api/v1/messages", read="agents:read", write="agents:write"),),
    readers=(ReaderRule(AgentMessage, lambda created: created.owner_id),),
)
