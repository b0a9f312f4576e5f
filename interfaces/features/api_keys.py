"""The API keys feature: keys with scopes that act for their user."""

from application.api_keys import ApiKeyCommands
from domain.api_key import ApiKey
from interfaces.api.routes import api_keys
from interfaces.feature import Feature, ReadModel
from projections.api_key import ApiKeyProjection, ApiKeyQueries
from projections.readers import ReaderRule

FEATURE = Feature(
    name="api_keys",
    read_models=(ReadModel(lambda rules: ApiKeyProjection(), ApiKeyQueries),),
    routers=(api_keys.router,),
    readers=(ReaderRule(ApiKey, None),),  # internal: key events hold hashes
    wire=lambda ledger, wiring: [ApiKeyCommands(ledger, wiring.scopes)],
)
