"""Webhook endpoint commands of the Ledger, and how a stored signing secret is opened.

A webhook's ``whsec_`` secret is generated here, shown to its owner once (the command returns it)
and stored only sealed: ``CredentialVault.seal_secret`` encrypts it with a key derived from
``LEDGERFLOW_SECRET_KEY`` (old keys in ``LEDGERFLOW_PREVIOUS_SECRET_KEYS`` still open old seals).
The events, and the ``webhooks`` read model's ``secret`` / ``previous_secret`` columns, hold that
ciphertext; the delivery side opens it with ``open_secret(sealed, container.ledger.credentials)``
right before signing.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from uuid import UUID

from application.context import CommandContext
from application.credential import CredentialVault
from application.handlers import Handlers
from application.result import Written
from application.webhook_signing import new_secret, secret_key
from domain.error import InvalidValue
from domain.webhook import Webhook, WebhookNotFound

if TYPE_CHECKING:
    from application.ledger import Ledger

UrlCheck = Callable[[str], None]
SECRET_MIN_BYTES, SECRET_MAX_BYTES = 24, 64  # the Standard Webhooks recommendation
DISPATCHER = "webhook-dispatcher"
DISABLED_BY_OWNER = "disabled by its owner"


def open_secret(sealed: str, credentials: CredentialVault) -> str:
    """The ``whsec_`` secret of a sealed one (as stored in events and the read model)."""
    return credentials.open_secret(sealed)


def given_secret(secret: str) -> str:
    """A secret the owner chose: ``whsec_`` + base64 of 24 to 64 bytes."""
    try:
        size = len(secret_key(secret)) if secret.startswith("whsec_") else 0
    except (binascii.Error, ValueError):
        size = 0
    if not SECRET_MIN_BYTES <= size <= SECRET_MAX_BYTES:
        raise InvalidValue(
            "secret", f"must be whsec_ followed by base64 of {SECRET_MIN_BYTES} to 64 bytes"
        )
    return secret


class WebhookCommands(Handlers):
    """The handlers of webhook endpoints.

    ``check_url`` is the SSRF guard webhook URLs pass before they are saved (the composition root
    gives ``interfaces.adapters.webhook_guard.check_url``); without it only their syntax is checked.
    """

    def __init__(self, ledger: Ledger, check_url: UrlCheck | None = None) -> None:
        super().__init__(ledger)
        self.check_webhook_url = check_url or (lambda url: None)

    def create_webhook(
        self,
        context: CommandContext,
        owner_id: UUID,
        url: str,
        events: Iterable[str],
        description: str = "",
        enabled: bool = True,
        secret: str | None = None,
        format: str = "envelope",
    ) -> tuple[Written[Webhook], str]:
        """A new webhook; returns it and its ``whsec_`` secret (shown once, stored sealed)."""
        secret = new_secret() if secret is None else given_secret(secret)
        hook = Webhook.create(
            owner_id,
            url,
            events,
            self.credentials.seal_secret(secret),
            description,
            enabled,
            format,
        )
        self.check_webhook_url(hook.url)
        return Written(hook, self._commit(context, hook)), secret

    def update_webhook(
        self,
        context: CommandContext,
        owner_id: UUID,
        webhook_id: UUID,
        *,
        url: str | None = None,
        events: Iterable[str] | None = None,
        description: str | None = None,
        enabled: bool | None = None,
        expected_version: int | None = None,
        format: str | None = None,
    ) -> Written[Webhook]:
        """Change an owner's webhook; ``enabled=True`` re-enables a disabled one."""
        patterns = None if events is None else list(events)

        def change(hook: Webhook) -> None:
            before = hook.url
            hook.update(url, patterns, description, format)
            if hook.url != before:
                self.check_webhook_url(hook.url)
            if enabled is True:
                hook.enable()
            elif enabled is False and hook.enabled:
                hook.disable(DISABLED_BY_OWNER)

        return self._change_webhook(context, owner_id, webhook_id, expected_version, change)

    def rotate_webhook_secret(
        self,
        context: CommandContext,
        owner_id: UUID,
        webhook_id: UUID,
        expected_version: int | None = None,
    ) -> tuple[Written[Webhook], str]:
        """A new secret (returned once); the previous one keeps signing for 24 h."""
        secret = new_secret()
        sealed = self.credentials.seal_secret(secret)
        written = self._change_webhook(
            context,
            owner_id,
            webhook_id,
            expected_version,
            lambda hook: hook.rotate_secret(sealed, datetime.now(UTC)),
        )
        return written, secret

    def delete_webhook(
        self,
        context: CommandContext,
        owner_id: UUID,
        webhook_id: UUID,
        expected_version: int | None = None,
    ) -> Written[Webhook]:
        """Delete an owner's webhook: no more deliveries; it then answers 404."""
        return self._change_webhook(context, owner_id, webhook_id, expected_version, Webhook.delete)

    def disable_webhook(
        self, webhook_id: UUID, reason: str, context: CommandContext | None = None
    ) -> Written[Webhook] | None:
        """Disable a webhook whose endpoint is gone (410) or keeps failing, as the system actor
        unless told otherwise; None when it is disabled already. WebhookNotFound if deleted."""
        acting = context or CommandContext.system(DISPATCHER)
        load = lambda: self._load_webhook(webhook_id)  # noqa: E731 - read as a name
        written = self._change(acting, load, webhook_id, None, _off(reason))
        return written if written.position else None

    def get_webhook(self, owner_id: UUID, webhook_id: UUID) -> Webhook:
        """One of the owner's webhooks from the event store (WebhookNotFound otherwise)."""
        hook = self._load_webhook(webhook_id)
        if not hook.visible_to(owner_id):
            raise WebhookNotFound(webhook_id)
        return hook

    def _load_webhook(self, webhook_id: UUID) -> Webhook:
        hook: Webhook = self._load(Webhook, webhook_id, WebhookNotFound)
        if hook.deleted:
            raise WebhookNotFound(webhook_id)
        return hook

    def _change_webhook(
        self,
        context: CommandContext,
        owner_id: UUID,
        webhook_id: UUID,
        expected_version: int | None,
        change: Callable[[Webhook], object],
    ) -> Written[Webhook]:
        return self._change(
            context,
            lambda: self.get_webhook(owner_id, webhook_id),
            webhook_id,
            expected_version,
            change,
        )


def _off(reason: str) -> Callable[[Webhook], None]:
    """Disable a webhook that is still enabled when the change is applied (a race may have
    disabled it meanwhile: then nothing is recorded)."""

    def change(hook: Webhook) -> None:
        if hook.enabled:
            hook.disable(reason)

    return change
