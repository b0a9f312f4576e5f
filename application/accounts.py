"""Account commands of the Ledger: registration, roles, deactivation, passwords, profiles."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from application.context import CommandContext
from application.error import ConcurrentChange, InvalidCredentials, NotAllowed
from application.handlers import Handlers
from application.principal import Principal
from application.result import Written
from domain.error import InvalidValue
from domain.user import (
    AdminSeat,
    EmailClaim,
    EmailTaken,
    Role,
    User,
    Username,
    UsernameTaken,
    UserNotFound,
)


class AccountCommands(Handlers):
    """The handlers of accounts: registration, roles, deactivation, passwords, profiles."""

    def register_user(
        self,
        context: CommandContext,
        username: str,
        password: str,
        name: str,
        lastname: str,
        role: str | None = None,
        email: str | None = None,
    ) -> Written[User]:
        """Create an account; the first account ever is an admin, the others members (or
        ``role`` when an admin creates it). The username (and the email, when given) is claimed
        atomically with it."""
        self.credentials.check_policy(password, username)
        user = User.register(username, name, lastname, self.credentials.seal(password), email)
        claims: list[Any] = [Username.claim(username, user.id)]
        if email is not None:
            claims.append(EmailClaim.claim(email, user.id))
        seat = None if role is not None else self._free_admin_seat(user)
        if seat is not None:
            user.change_role(Role.ADMIN.value)
        elif role is not None:
            user.change_role(role)
        try:
            position = self._commit(context, *(a for a in (user, *claims, seat) if a is not None))
        except ConcurrentChange:
            if self._claimed(Username.create_id(username)):
                raise UsernameTaken(username) from None
            if email is not None and self._claimed(EmailClaim.create_id(email)):
                raise EmailTaken(email) from None
            if seat is None:
                raise UsernameTaken(username) from None
            # Another first registration won the admin seat: register as a member.
            return self.register_user(
                context, username, password, name, lastname, Role.MEMBER.value, email
            )
        return Written(user, position)

    def create_user(
        self,
        context: CommandContext,
        actor: Principal,
        username: str,
        password: str,
        name: str,
        lastname: str,
        role: str,
        email: str | None = None,
    ) -> Any:
        """An admin creates an account with a given role."""
        actor.require_admin()
        return self.register_user(context, username, password, name, lastname, role, email)

    def authenticate(self, login: str, password: str) -> User:
        """The active user whose credentials these are (``login`` is a username or an email
        address); the same error for every mismatch."""
        user = self._claimant(Username, login)
        if user is None and "@" in login:
            user = self._claimant(EmailClaim, login)
        if not self.credentials.verify(user.credential if user else None, password):
            raise InvalidCredentials()
        assert user is not None
        if not user.active:
            raise InvalidCredentials()
        return user

    def get_user(self, user_id: UUID) -> User:
        """The current state of a user."""
        user: User = self._load(User, user_id, UserNotFound)
        return user

    def administer_user(
        self,
        context: CommandContext,
        actor: Principal,
        user_id: UUID,
        role: str | None = None,
        active: bool | None = None,
    ) -> Any:
        """An admin changes another user's role or active state."""
        actor.require_admin()
        if actor.user_id == user_id and (role not in (None, Role.ADMIN.value) or active is False):
            raise NotAllowed("An admin cannot demote or deactivate themselves")
        user = self.get_user(user_id)
        if role is not None:
            user.change_role(role)
        if active is True:
            user.reactivate()
        elif active is False:
            user.deactivate()
        return Written(user, self._commit(context, user))

    def change_password(
        self, context: CommandContext, user_id: UUID, old_password: str, new_password: str
    ) -> Any:
        """Replace the password; the old one is required."""
        user = self.get_user(user_id)
        if not self.credentials.verify(user.credential, old_password):
            raise InvalidCredentials()
        self.credentials.check_policy(new_password, user.username)
        user.change_password(self.credentials.seal(new_password))
        return Written(user, self._commit(context, user))

    def update_profile(
        self, context: CommandContext, user_id: UUID, name: str | None, lastname: str | None
    ) -> Any:
        """Change one's own name and last name."""
        user = self.get_user(user_id)
        user.update_profile(name, lastname)
        return Written(user, self._commit(context, user))

    def _free_admin_seat(self, user: User) -> AdminSeat | None:
        try:
            self.repository.get(AdminSeat.ID)
        except AggregateNotFoundError:
            return AdminSeat.claim(user.id)
        return None

    def _claimed(self, claim_id: Any) -> bool:
        try:
            self.repository.get(claim_id)
        except AggregateNotFoundError:
            return False
        return True

    def _claimant(self, kind: type[Username] | type[EmailClaim], login: str) -> User | None:
        """The user who holds the claim of ``login`` (a username or an email), if any."""
        try:
            claim: Username | EmailClaim = self.repository.get(kind.create_id(login))
            user: User = self.repository.get(claim.user_id)
        except (AggregateNotFoundError, InvalidValue):
            return None
        return user
