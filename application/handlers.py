"""The base of every feature's command handlers.

A feature's handlers (``TaskCommands``, ``WebhookCommands``, ...) are a small class of their own,
reached as ``ledger[TaskCommands]``: they load, change and commit through the one ``Ledger``, which
keeps the group commit and the retry policy. Adding a feature adds a class, never a mixin.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.context import CommandContext
from application.credential import CredentialVault
from application.result import Written
from domain.error import NotFound

if TYPE_CHECKING:
    from application.ledger import Ledger

A = TypeVar("A", bound=Aggregate)


class Handlers:
    """Command handlers of one feature, over the shared Ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    @property
    def credentials(self) -> CredentialVault:
        """Password hashing, sealing and policy (shared by every feature)."""
        return self.ledger.credentials

    @property
    def repository(self) -> Any:
        """The event-sourced repository of every aggregate."""
        return self.ledger.repository

    def _load(
        self, kind: type[A], aggregate_id: UUID, missing: type[NotFound], version: int | None = None
    ) -> A:
        return self.ledger.load(kind, aggregate_id, missing, version)

    def _commit(self, context: CommandContext, *aggregates: Aggregate) -> int:
        return self.ledger.commit(context, *aggregates)

    def _submit(self, context: CommandContext, *aggregates: Aggregate) -> Future[int]:
        return self.ledger.submit(context, *aggregates)

    def _change(
        self,
        context: CommandContext,
        load: Callable[[], A],
        aggregate_id: UUID,
        expected_version: int | None,
        change: Callable[[A], object],
    ) -> Written[A]:
        return self.ledger.change(context, load, aggregate_id, expected_version, change)
