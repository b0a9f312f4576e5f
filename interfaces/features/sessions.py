"""The sessions feature: refresh tokens that rotate, logout, OAuth2's token endpoint."""

from application.sessions import DeactivationEndsSessions, SessionCommands
from domain.session import Session
from interfaces.api.alias import Alias
from interfaces.api.presenters import FLOW8
from interfaces.api.routes import tokens
from interfaces.feature import Feature, ReadModel
from projections.readers import ReaderRule
from projections.session import SessionProjection, SessionQueries

FEATURE = Feature(
    name="sessions",
    handlers=(SessionCommands,),
    read_models=(ReadModel(lambda rules: SessionProjection(), SessionQueries),),
    routers=(tokens.router,),
    readers=(ReaderRule(Session, None),),  # internal: no user reads session events
    reactors=(lambda ledger, query: DeactivationEndsSessions(ledger, query(SessionQueries)),),
    aliases=(Alias("POST", "/api/auth/logout", "/api/v1/auth/logout", FLOW8),),
)
