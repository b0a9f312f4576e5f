"""What the Ledger's command mixins rely on from the Ledger itself (declared for type checking)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from application.context import CommandContext
from application.credential import CredentialVault

if TYPE_CHECKING:
    from application.result import Written
    from domain.user import User

A = TypeVar("A")


class LedgerCore:
    """The base of the command mixins; ``Ledger`` provides the real methods."""

    credentials: CredentialVault
    repository: Any
    check_webhook_url: Callable[[str], None]

    if TYPE_CHECKING:

        def _load(
            self, kind: Any, aggregate_id: UUID, missing: Any, version: int | None = None
        ) -> Any: ...

        def _commit(self, context: CommandContext, *aggregates: Any) -> int: ...

        def get_user(self, user_id: UUID) -> User: ...

        def _change(
            self,
            context: CommandContext,
            load: Callable[[], A],
            aggregate_id: UUID,
            expected_version: int | None,
            change: Callable[[A], object],
        ) -> Written[Any]: ...
