"""The chat feature: Behflow's chat, 002's conversations, the intent parser and its provider."""

from application.chat import ChatCommands
from application.ledger import Ledger
from domain.conversation import Conversation
from interfaces.adapters.chat_provider import chat_provider
from interfaces.api.routes import chat
from interfaces.feature import Feature, ReadModel, Scope, Wiring
from projections.conversation import (
    ConversationProjection,
    ConversationQueries,
    MessageProjection,
    MessageQueries,
)
from projections.readers import ReaderRule


def with_provider(ledger: Ledger, wiring: Wiring) -> list[ChatCommands]:
    """Chat commands with the provider LEDGERFLOW_CHAT_PROVIDER names."""
    return [ChatCommands(ledger, chat_provider(wiring.settings))]


FEATURE = Feature(
    name="chat",
    read_models=(
        ReadModel(lambda rules: ConversationProjection(), ConversationQueries),
        ReadModel(lambda rules: MessageProjection(), MessageQueries),
    ),
    routers=(chat.router,),
    scopes=(Scope("/api/v1/chat", read="chat:read", write="chat:write"),),
    readers=(ReaderRule(Conversation, lambda created: created.owner_id),),
    wire=with_provider,
)
