"""Access tokens: signed JWTs (HS256) with an expiry."""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import jwt

from application.error import InvalidToken

ALGORITHM = "HS256"


@dataclass(frozen=True)
class AccessClaims:
    """What a verified access token says: who, and in which session."""

    user_id: UUID
    session_id: UUID | None
    expires_at: float = float("inf")  # seconds since the epoch


class TokenIssuer:
    """Issues and verifies the access tokens the API accepts."""

    def __init__(
        self,
        secret: str,
        ttl: timedelta,
        issuer: str = "ledgerflow",
        cache_size: int = 10_000,
        previous_secrets: tuple[str, ...] = (),
    ) -> None:
        self._secret = secret
        # Tokens signed with a previous key stay valid until they expire (key rotation).
        self._accepted = (secret, *previous_secrets)
        self._ttl = ttl
        self._issuer = issuer
        # Verifying a JWT costs more than the rest of a small request's auth: remember tokens
        # already verified (by their exact text) until they expire.
        self._verified: OrderedDict[str, tuple[AccessClaims, float]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def issue(
        self, user_id: UUID, now: datetime | None = None, session_id: UUID | None = None
    ) -> str:
        """A token for ``user_id`` (in ``session_id``) that expires after the lifetime."""
        issued = now or datetime.now(UTC)
        claims = {
            "sub": str(user_id),
            "iss": self._issuer,
            "iat": issued,
            "exp": issued + self._ttl,
            "jti": uuid.uuid4().hex,
            "typ": "access",
        }
        if session_id is not None:
            claims["sid"] = str(session_id)
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    @property
    def ttl_seconds(self) -> int:
        """The lifetime of an access token."""
        return int(self._ttl.total_seconds())

    def verify(self, token: str) -> UUID:
        """The user id a valid token was issued for; ``InvalidToken`` otherwise."""
        return self.verify_claims(token).user_id

    def verify_claims(self, token: str) -> AccessClaims:
        """The user and session a valid token names; ``InvalidToken`` otherwise."""
        with self._lock:
            known = self._verified.get(token)
        if known is not None and known[1] > time.time():
            return known[0]
        claims, expires = self._decode(token)
        with self._lock:
            self._verified[token] = (claims, expires)
            if len(self._verified) > self._cache_size:
                self._verified.popitem(last=False)
        return claims

    def _decode(self, token: str) -> tuple[AccessClaims, float]:
        for key in self._accepted:
            try:
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=[ALGORITHM],
                    issuer=self._issuer,
                    options={"require": ["exp", "iat", "sub"]},
                )
            except jwt.InvalidSignatureError:
                continue
            except (jwt.PyJWTError, ValueError, TypeError):
                raise InvalidToken() from None
            return self._claims(claims)
        raise InvalidToken()

    @staticmethod
    def _claims(claims: dict[str, Any]) -> tuple[AccessClaims, float]:
        try:
            if claims.get("typ") != "access":
                raise InvalidToken()
            sid = claims.get("sid")
            expires = float(claims["exp"])
            access = AccessClaims(UUID(claims["sub"]), UUID(sid) if sid else None, expires)
            return access, expires
        except (ValueError, TypeError, KeyError):
            raise InvalidToken() from None
