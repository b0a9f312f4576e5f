"""The Webhook aggregate: an endpoint that receives the events of its owner (Standard Webhooks).

The signing secret is stored sealed by the caller (never in clear in an event); a rotation keeps
the previous secret valid for ``ROTATION_GRACE`` (24 h) so that both sign deliveries until the
receiver has switched.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.error import DomainError, InvalidValue, NotFound
from domain.event_pattern import PATTERNS_MAX, event_type_patterns
from domain.value import bounded_text

URL_MAX = 2000
DESCRIPTION_MAX = 500
ROTATION_GRACE = timedelta(hours=24)


class WebhookNotFound(NotFound):
    """No such webhook, or not one the actor may see."""

    kind = "webhook"


class WebhookDeleted(WebhookNotFound):
    """The webhook was deleted and accepts no further change."""


class WebhookAlreadyDisabled(DomainError):
    """The webhook is disabled already."""


def endpoint_url(value: str) -> str:
    """An absolute http(s) URL with a host (reachability is checked outside the domain)."""
    url = bounded_text("url", value, max_length=URL_MAX)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidValue("url", "must be an absolute http or https URL")
    if parts.username is not None or parts.password is not None:
        # The URL is in the webhook's events; credentials there would be a secret in clear.
        raise InvalidValue("url", "must not carry a user name or password; use the signature")
    return url


def event_patterns(value: Iterable[str]) -> list[str]:
    """Event type patterns (``task.*``); at least one."""
    patterns = event_type_patterns(value)
    if not patterns:
        raise InvalidValue("events", f"must name 1 to {PATTERNS_MAX} event type patterns")
    return patterns


def webhook_description(value: str) -> str:
    """A free-text description, possibly empty."""
    return bounded_text("description", value, max_length=DESCRIPTION_MAX, required=False)


ENVELOPE, DEVFLOW = "envelope", "devflow"


def payload_format(value: str) -> str:
    """What a delivery's body is: the public envelope, or DevFlow's ``{event, data}``."""
    if value not in (ENVELOPE, DEVFLOW):
        raise InvalidValue("format", f"must be one of: {ENVELOPE}, {DEVFLOW}")
    return value


class Webhook(Aggregate):
    """Where and what to deliver for one owner."""

    TOPIC = "webhook"

    class Created(Aggregate.Created):
        TOPIC = "webhook.created"
        class_version = 3
        owner_id: UUID
        url: str
        events: list[str]
        description: str
        secret: str
        enabled: bool
        format: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """v1 webhooks were always created enabled."""
            state["enabled"] = True

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """v2 webhooks had no format: they send the envelope."""
            state["format"] = ENVELOPE

    class Updated(Aggregate.Event):
        TOPIC = "webhook.updated"
        changes: dict[str, Any]

    class SecretRotated(Aggregate.Event):
        TOPIC = "webhook.secret_rotated"
        class_version = 2
        secret: str
        previous_valid_until: datetime

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """v1 kept no end for the previous secret: it is the rotation time plus the grace."""
            state["previous_valid_until"] = state["timestamp"] + ROTATION_GRACE

    class Enabled(Aggregate.Event):
        TOPIC = "webhook.enabled"

    class Disabled(Aggregate.Event):
        TOPIC = "webhook.disabled"
        reason: str

    class Deleted(Aggregate.Event):
        TOPIC = "webhook.deleted"

    @event(Created)
    def __init__(
        self,
        owner_id: UUID,
        url: str,
        events: list[str],
        description: str,
        secret: str,
        enabled: bool,
        format: str,
    ) -> None:
        self.owner_id = owner_id
        self.format = format
        self.url = url
        self.events = list(events)
        self.description = description
        self.secret = secret
        self.previous_secret: str | None = None
        self.previous_valid_until: datetime | None = None
        self.enabled = enabled
        self.disabled_reason: str | None = None
        self.deleted = False

    @classmethod
    def create(
        cls,
        owner_id: UUID,
        url: str,
        events: Iterable[str],
        secret: str,
        description: str = "",
        enabled: bool = True,
        format: str = "envelope",
    ) -> Webhook:
        """Check the values and create the webhook; ``secret`` is sealed by the caller."""
        return cls(
            owner_id=owner_id,
            url=endpoint_url(url),
            events=event_patterns(events),
            description=webhook_description(description),
            secret=bounded_text("secret", secret, max_length=4096),
            enabled=bool(enabled),
            format=payload_format(format),
        )

    def update(
        self,
        url: str | None = None,
        events: Iterable[str] | None = None,
        description: str | None = None,
        format: str | None = None,
    ) -> None:
        """Change the URL, the patterns, the description or the payload format; emits nothing
        when unchanged."""
        self._ensure_not_deleted()
        changes: dict[str, Any] = {}
        if url is not None and endpoint_url(url) != self.url:
            changes["url"] = endpoint_url(url)
        if events is not None and event_patterns(events) != self.events:
            changes["events"] = event_patterns(events)
        if description is not None and webhook_description(description) != self.description:
            changes["description"] = webhook_description(description)
        if format is not None and payload_format(format) != self.format:
            changes["format"] = payload_format(format)
        if changes:
            self._update(changes=changes)

    def rotate_secret(self, secret: str, now: datetime) -> None:
        """Sign with ``secret`` from now on; the current one stays valid beside it for 24 h."""
        self._ensure_not_deleted()
        self._rotate(
            secret=bounded_text("secret", secret, max_length=4096),
            previous_valid_until=now + ROTATION_GRACE,
        )

    def enable(self) -> None:
        """Deliver again (after the owner or the dispatcher disabled it); no-op when enabled."""
        self._ensure_not_deleted()
        if not self.enabled:
            self._enable()

    def disable(self, reason: str) -> None:
        """Stop deliveries (after a 410 or a long run of failures)."""
        self._ensure_not_deleted()
        if not self.enabled:
            raise WebhookAlreadyDisabled(f"Webhook {self.id} is disabled already")
        self._disable(reason=bounded_text("reason", reason, max_length=500))

    def delete(self) -> None:
        """Delete the webhook; it then accepts no change."""
        self._ensure_not_deleted()
        self._delete()

    def signing_secrets(self, now: datetime) -> list[str]:
        """The sealed secrets that sign a delivery at ``now``: the current one, then the previous
        one while it is still valid."""
        until = self.previous_valid_until
        if self.previous_secret is not None and until is not None and now < until:
            return [self.secret, self.previous_secret]
        return [self.secret]

    def visible_to(self, user_id: UUID) -> bool:
        """True when ``user_id`` owns this (not deleted) webhook."""
        return self.owner_id == user_id and not self.deleted

    def _ensure_not_deleted(self) -> None:
        if self.deleted:
            raise WebhookDeleted(self.id)

    @event(Updated)
    def _update(self, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    @event(SecretRotated)
    def _rotate(self, secret: str, previous_valid_until: datetime) -> None:
        self.previous_secret = self.secret
        self.previous_valid_until = previous_valid_until
        self.secret = secret

    @event(Enabled)
    def _enable(self) -> None:
        self.enabled = True
        self.disabled_reason = None

    @event(Disabled)
    def _disable(self, reason: str) -> None:
        self.enabled = False
        self.disabled_reason = reason

    @event(Deleted)
    def _delete(self) -> None:
        self.deleted = True
