"""Agent tokens: JWTs (HS256) that work only on agent endpoints, for 30 days.

A token names the agent, its owner and the agent's token generation; rotating the token or
deleting the agent makes older tokens fail (the generation is checked against the aggregate, so a
revocation holds on every API instance). The token is returned once and never stored or logged:
only its generation is in the events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from uuid import UUID

import jwt

from application.error import InvalidToken

ALGORITHM = "HS256"
KIND = "agent"
AGENT_TOKEN_TTL = timedelta(days=30)  # DevFlow: "Tokens expire after 30 days."


@lru_cache(maxsize=8192)
def _claimed_kind(token: str) -> object:
    """The ``typ`` an unverified token claims (None when it is not a JWT)."""
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return unverified.get("typ") if isinstance(unverified, dict) else None


@dataclass(frozen=True)
class AgentClaims:
    """What a verified agent token says."""

    agent_id: UUID
    owner_id: UUID
    generation: int


class AgentTokens:
    """Issues and verifies agent tokens (a different ``typ`` from access tokens, so neither is
    accepted in place of the other)."""

    def __init__(self, secret: str, ttl: timedelta = AGENT_TOKEN_TTL, issuer: str = "ledgerflow"):
        self._secret = secret
        self._ttl = ttl
        self._issuer = issuer

    def issue(
        self, agent_id: UUID, owner_id: UUID, generation: int, now: datetime | None = None
    ) -> tuple[str, datetime]:
        """A token for the agent and when it expires."""
        issued = now or datetime.now(UTC)
        expires = issued + self._ttl
        claims = {
            "sub": str(agent_id),
            "own": str(owner_id),
            "gen": generation,
            "iss": self._issuer,
            "iat": issued,
            "exp": expires,
            "typ": KIND,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM), expires

    @staticmethod
    def looks_like_agent_token(token: str) -> bool:
        """Whether the unverified token claims to be an agent token (which verifier to use).

        Asked for every request with a bearer token (the rate limiter picks the budget by it),
        so the answer is remembered per token: decoding it each time cost about 9 % of the API
        process's interpreter time under a POST load."""
        return _claimed_kind(token) == KIND

    def verify(self, token: str) -> AgentClaims:
        """The claims of a valid, unexpired agent token; ``InvalidToken`` otherwise."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub"]},
            )
            if claims.get("typ") != KIND:
                raise InvalidToken()
            return AgentClaims(UUID(claims["sub"]), UUID(claims["own"]), int(claims["gen"]))
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            raise InvalidToken() from None
