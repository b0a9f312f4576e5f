"""Access tokens: signed JWTs (HS256) with an expiry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID

import jwt

from application.error import InvalidToken

ALGORITHM = "HS256"


class TokenIssuer:
    """Issues and verifies the access tokens the API accepts."""

    def __init__(self, secret: str, ttl: timedelta, issuer: str = "ledgerflow") -> None:
        self._secret = secret
        self._ttl = ttl
        self._issuer = issuer

    def issue(self, user_id: UUID, now: datetime | None = None) -> str:
        """A token for ``user_id`` that expires after the configured lifetime."""
        issued = now or datetime.now(UTC)
        claims = {
            "sub": str(user_id),
            "iss": self._issuer,
            "iat": issued,
            "exp": issued + self._ttl,
            "jti": uuid.uuid4().hex,
            "typ": "access",
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> UUID:
        """The user id a valid token was issued for; ``InvalidToken`` otherwise."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub"]},
            )
            if claims.get("typ") != "access":
                raise InvalidToken()
            return UUID(claims["sub"])
        except (jwt.PyJWTError, ValueError, TypeError):
            raise InvalidToken() from None
