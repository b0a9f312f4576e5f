"""MFA commands of the Ledger: TOTP setup, confirmation, disabling, and the login check."""

from __future__ import annotations

from uuid import UUID

import pyotp

from application.accounts import AccountCommands
from application.context import CommandContext
from application.error import InvalidCredentials, MfaRequired
from application.handlers import Handlers
from domain.user import User

ISSUER = "Ledgerflow"


class MfaCommands(Handlers):
    """The handlers of multi-factor sign-in."""

    def begin_mfa_setup(self, context: CommandContext, user_id: UUID) -> tuple[str, str]:
        """A new TOTP secret (stored sealed) and its otpauth:// URI, until confirmed."""
        user = self.ledger[AccountCommands].get_user(user_id)
        secret = pyotp.random_base32()
        user.start_mfa_setup(self.credentials.seal_secret(secret))
        self._commit(context, user)
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
        return secret, uri

    def confirm_mfa(self, context: CommandContext, user_id: UUID, code: str) -> None:
        """Turn MFA on with a code from the pending secret."""
        user = self.ledger[AccountCommands].get_user(user_id)
        if not self._code_is_valid(user, code):
            raise InvalidCredentials()
        user.enable_mfa()
        self._commit(context, user)

    def disable_mfa(self, context: CommandContext, user_id: UUID, code: str) -> None:
        """Turn MFA off; needs a current code."""
        user = self.ledger[AccountCommands].get_user(user_id)
        if not (user.mfa_enabled and self._code_is_valid(user, code)):
            raise InvalidCredentials()
        user.disable_mfa()
        self._commit(context, user)

    def check_second_factor(self, user: User, code: str | None) -> None:
        """Refuse a login of an MFA account without a valid code."""
        if user.mfa_enabled and not (code and self._code_is_valid(user, code)):
            raise MfaRequired()

    def _code_is_valid(self, user: User, code: str) -> bool:
        if user.sealed_totp_secret is None:
            return False
        secret = self.credentials.open_secret(user.sealed_totp_secret)
        return pyotp.TOTP(secret).verify(code.strip(), valid_window=1)
