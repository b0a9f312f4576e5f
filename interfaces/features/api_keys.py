"""The API keys feature: keys with scopes that act for their user."""

from typing import Any

from application.api_keys import ApiKeyCommands
from domain.api_key import ApiKey
from interfaces.api.alias import Alias, Exchange, Presenter
from interfaces.api.presenters import FLOW8, flow8_error, flow8_list, flow8_query
from interfaces.api.rate_limit import per_second
from interfaces.api.routes import api_keys
from interfaces.feature import Feature, ReadModel
from projections.api_key import ApiKeyProjection, ApiKeyQueries
from projections.readers import ReaderRule


def every_scope(document: Any, exchange: Exchange) -> Any:
    """002 and flow8 create keys without scopes: such a key gets every scope there is (read and
    write of every resource; the owner's role still limits what it may do)."""
    if isinstance(document, dict) and "scopes" not in document:
        table = exchange.scope["app"].state.scopes
        return {**document, "scopes": sorted({n for scope in table for n in scope.names()})}
    return document


SEED_KEYS = Presenter(body=every_scope)
FLOW8_KEYS = Presenter(body=every_scope, error=flow8_error, any_content_type=True)
FLOW8_KEY_LIST = Presenter(query=flow8_query, answer=flow8_list, error=flow8_error)

FEATURE = Feature(
    name="api_keys",
    read_models=(ReadModel(lambda rules: ApiKeyProjection(), ApiKeyQueries),),
    routers=(api_keys.router,),
    readers=(ReaderRule(ApiKey, None),),  # internal: key events hold hashes
    wire=lambda ledger, wiring: [
        ApiKeyCommands(ledger, wiring.scopes, per_second(wiring.settings.rate_limit))
    ],
    aliases=(
        Alias("GET", "/api/v1/security/api-keys", "/api/v1/api-keys"),  # 002
        Alias("POST", "/api/v1/security/api-keys", "/api/v1/api-keys", SEED_KEYS),
        Alias("DELETE", "/api/v1/security/api-keys/{api_key_id}", "/api/v1/api-keys/{api_key_id}"),
        Alias("GET", "/api/auth/api-keys", "/api/v1/api-keys", FLOW8_KEY_LIST),  # flow8
        Alias("POST", "/api/auth/api-keys", "/api/v1/api-keys", FLOW8_KEYS),
        Alias("DELETE", "/api/auth/api-keys/{api_key_id}", "/api/v1/api-keys/{api_key_id}", FLOW8),
    ),
)
