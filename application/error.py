"""Errors raised by the application layer (the domain's are in ``domain.error``)."""

from domain.error import Conflict, DomainError, Forbidden


class ConcurrentChange(Conflict):
    """Another writer changed the same aggregate first; the command was not applied."""

    def __init__(self) -> None:
        super().__init__("The resource was changed by another request; retry with its new version")


class StaleVersion(DomainError):
    """The caller's expected version (If-Match) is not the current one."""

    code = "STALE_VERSION"

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"Expected version {expected} but the current version is {actual}")
        self.expected = expected
        self.actual = actual


class InvalidCredentials(DomainError):
    """Unknown username or wrong password: deliberately the same error for both."""

    code = "INVALID_CREDENTIALS"

    def __init__(self) -> None:
        super().__init__("Invalid credentials")


class InvalidToken(DomainError):
    """A token is missing, malformed, expired, or not signed by us."""

    code = "NOT_AUTHENTICATED"

    def __init__(self) -> None:
        super().__init__("Authentication required or invalid token")


class WeakPassword(DomainError):
    """The password does not satisfy the password policy."""

    code = "WEAK_PASSWORD"


class NotAllowed(Forbidden):
    """The actor is authenticated but may not do this."""

    code = "FORBIDDEN"

    def __init__(self, reason: str = "Access denied") -> None:
        super().__init__(reason)


class MfaRequired(InvalidCredentials):
    """The password was right, but this account also needs a valid one-time code."""

    code = "MFA_REQUIRED"

    def __init__(self) -> None:
        DomainError.__init__(self, "A valid one-time code (totp_code) is required")
