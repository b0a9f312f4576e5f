"""Passwords: hashed with Argon2id, and the hash sealed (encrypted) before it enters an event."""

from __future__ import annotations

import base64
import hashlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from application.common_passwords import COMMON_PASSWORDS
from application.error import WeakPassword

PASSWORD_MAX = 1024


def _fernet(secret: str) -> Fernet:
    key = hashlib.sha256(b"ledgerflow.credential-seal\x00" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


class CredentialVault:
    """Hashes and verifies passwords; seals hashes so the event log holds only ciphertext.

    Sealing keys derive from the secret key; ``previous_secrets`` keep old seals readable
    after the secret is rotated.
    """

    def __init__(
        self,
        secret: str,
        previous_secrets: tuple[str, ...] = (),
        min_length: int = 8,
        hasher: PasswordHasher | None = None,
        refuse_common: bool = True,
    ) -> None:
        self._fernet = MultiFernet([_fernet(s) for s in (secret, *previous_secrets)])
        self._hasher = hasher or PasswordHasher()
        self._min_length = min_length
        self._refuse_common = refuse_common
        self._dummy = self.seal("ledgerflow-timing-equaliser")

    def check_policy(self, password: str, username: str) -> None:
        """Refuse passwords that are too short, too long or equal to the username."""
        if len(password) < self._min_length:
            raise WeakPassword(f"Password must be at least {self._min_length} characters")
        if len(password) > PASSWORD_MAX:
            raise WeakPassword(f"Password must be at most {PASSWORD_MAX} characters")
        if password.casefold() == username.strip().casefold():
            raise WeakPassword("Password must not equal the username")
        if self._refuse_common and password.casefold() in COMMON_PASSWORDS:
            raise WeakPassword("Password is too common; choose another")

    def seal(self, password: str) -> str:
        """Hash ``password`` and encrypt the hash: the result is safe to store in an event."""
        return self._fernet.encrypt(self._hasher.hash(password).encode()).decode()

    def seal_secret(self, secret: str) -> str:
        """Encrypt a secret (a TOTP seed) for storage in an event."""
        return self._fernet.encrypt(secret.encode()).decode()

    def open_secret(self, sealed: str) -> str:
        """Decrypt a secret sealed by ``seal_secret`` (with the current or a previous key)."""
        return self._fernet.decrypt(sealed.encode()).decode()

    def verify(self, sealed: str | None, password: str) -> bool:
        """True when ``password`` matches; takes the same time when there is no such user."""
        try:
            digest = self._fernet.decrypt((sealed or self._dummy).encode()).decode()
            matches = self._hasher.verify(digest, password[:PASSWORD_MAX])
        except (InvalidToken, VerificationError, InvalidHashError):
            return False
        return matches and sealed is not None
