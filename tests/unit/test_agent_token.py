"""Agent tokens are told from access tokens before either is verified."""

from datetime import timedelta
from uuid import uuid4

from application.agent_token import AgentTokens
from application.token import TokenIssuer


def test_an_agent_token_is_told_from_an_access_token_and_from_garbage():
    secret = "a-secret-that-is-long-enough-for-hs256-tokens"
    agent_token, _ = AgentTokens(secret).issue(uuid4(), uuid4(), 1)
    access = TokenIssuer(secret, timedelta(minutes=5)).issue(uuid4())
    assert AgentTokens.looks_like_agent_token(agent_token)
    assert AgentTokens.looks_like_agent_token(agent_token)  # remembered: same answer
    assert not AgentTokens.looks_like_agent_token(access)
    assert not AgentTokens.looks_like_agent_token("not-a-jwt")
