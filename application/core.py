"""What the Ledger's command mixins rely on from the Ledger itself (declared for type checking)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from application.context import CommandContext
from application.credential import CredentialVault

if TYPE_CHECKING:
    from domain.user import User


class LedgerCore:
    """The base of the command mixins; ``Ledger`` provides the real methods."""

    credentials: CredentialVault
    repository: Any

    if TYPE_CHECKING:

        def _load(
            self, kind: Any, aggregate_id: UUID, missing: Any, version: int | None = None
        ) -> Any: ...

        def _commit(self, context: CommandContext, *aggregates: Any) -> int: ...

        def get_user(self, user_id: UUID) -> User: ...
