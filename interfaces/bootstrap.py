"""The composition root: Settings and the feature list in, the objects the API, worker, CLI and
tests use out."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

from argon2 import PasswordHasher
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool

from application.credential import CredentialVault
from application.ledger import Ledger
from application.token import TokenIssuer
from application.webhook_retry import CircuitBreaker, RetrySchedule
from application.webhooks import WebhookCommands, open_secret
from domain.webhook import WebhookNotFound
from interfaces.adapters.embedded_postgres import EmbeddedPostgres
from interfaces.adapters.event_chain import ChainSealer
from interfaces.adapters.reactor_runner import ReactorRunner
from interfaces.adapters.relay import EventRelay, RelayRunner
from interfaces.adapters.webhook_dispatcher import (
    EndpointGates,
    Sender,
    WebhookDispatcher,
    http_client,
)
from interfaces.adapters.webhook_guard import check_url
from interfaces.container import Container, conninfo, event_bus, eventsourcing_env
from interfaces.feature import Feature, reader_rules, register_handlers
from interfaces.features import FEATURES
from interfaces.metrics import MetricsSampler
from interfaces.settings import Settings
from projections.audit import AuditLog
from projections.event_feed import EventFeed, EventFeedProjection
from projections.readers import ReaderRules
from projections.runner import Projection, ProjectionRunner, reader_for
from projections.watch import PositionWatch
from projections.webhook_outbox import DeliveryOutbox

__all__ = ["Container", "build", "conninfo", "eventsourcing_env", "projections"]

log = logging.getLogger(__name__)
EVENT_FEED = "event_feed"


def projections(features: Sequence[Feature] = FEATURES) -> list[Projection]:
    """Every read model Ledgerflow maintains: each feature's, then the event feed."""
    rules = reader_rules(features)
    return [
        *(m.projection(rules) for f in features for m in f.read_models if m.projection),
        EventFeedProjection(rules, EVENT_FEED),
    ]


def queries(features: Sequence[Feature], pool: ConnectionPool[Any]) -> dict[type, Any]:
    """Every feature's query objects, by class."""
    found = [m.queries(pool) for f in features for m in f.read_models if m.queries is not None]
    return {type(q): q for q in found}


def build(settings: Settings | None = None, features: Sequence[Feature] = FEATURES) -> Container:
    """Wire Ledgerflow from settings (environment variables when none are given)."""
    settings = settings or Settings()
    embedded = None
    database_url = settings.database_url
    if database_url is None:
        embedded = EmbeddedPostgres(settings.data_dir)
        database_url = embedded.start()
    secret = settings.secret_key.get_secret_value()
    vault = CredentialVault(
        secret,
        previous_secrets=tuple(s.get_secret_value() for s in settings.previous_secret_keys),
        min_length=settings.password_min_length,
        refuse_common=settings.password_refuse_common,
        hasher=PasswordHasher(
            time_cost=settings.password_hash_time_cost,
            memory_cost=settings.password_hash_memory_kib,
        ),
    )
    ledger = Ledger(eventsourcing_env(database_url, settings.db_pool_size), credentials=vault)
    register_handlers(ledger, settings, features)
    rules = reader_rules(features)
    info = conninfo(database_url)
    pool: ConnectionPool[Any] = ConnectionPool(
        info, min_size=2, max_size=settings.db_pool_size, open=True, name="queries"
    )
    events_channel = ledger.recorder.channel_name  # type: ignore[attr-defined]
    reader = reader_for(info, ledger.recorder, ledger.mapper, events_channel)
    log_of = (ledger.recorder, ledger.mapper, events_channel)
    runners = [ProjectionRunner(info, p, *log_of, reader=reader) for p in projections(features)]
    bus = event_bus(settings, info)
    runners.append(RelayRunner(info, EventRelay(bus, rules), *log_of, reader=reader))
    runners.append(ChainSealer(info, *log_of, reader=reader))
    events_table = ledger.recorder.events_table_name  # type: ignore[attr-defined]
    feed = EventFeed(pool, EVENT_FEED)  # the platform's read model: every event and its reader
    found = {**queries(features, pool), EventFeed: feed, ReaderRules: rules}
    reactors = [
        ReactorRunner(info, make(ledger, found.__getitem__), reader)
        for feature in features
        for make in feature.reactors
    ]
    return Container(
        settings=settings,
        database_url=database_url,
        ledger=ledger,
        tokens=TokenIssuer(
            secret,
            timedelta(seconds=settings.token_ttl_seconds),
            previous_secrets=tuple(s.get_secret_value() for s in settings.previous_secret_keys),
        ),
        pool=pool,
        features=features,
        queries=found,
        audit=AuditLog(pool, events_table, ledger.mapper),
        watch=PositionWatch(info),
        reader=reader,
        runners=runners,
        reactors=reactors,
        events=feed,
        bus=bus,
        make_dispatcher=webhook_dispatcher,
        embedded=embedded,
        sampler=MetricsSampler(
            pool,
            ledger.recorder.max_notification_id,
            [gauge for feature in features for gauge in feature.metrics],
            settings.metrics_sample_seconds,
        ),
    )


def webhook_dispatcher(container: Container, **overrides: Any) -> WebhookDispatcher:
    """A dispatcher over the container's database, configured by its settings."""
    settings = container.settings
    ledger = container.ledger
    # Losing the last commits in a crash only means sending those deliveries again (at least
    # once), so the dispatcher's writes need not wait for the disk.
    pool: ConnectionPool[Any] = ConnectionPool(
        make_conninfo(
            conninfo(container.database_url),
            options="-c timezone=UTC -c synchronous_commit=off",
        ),
        min_size=1,
        max_size=settings.webhook_workers + 1,
        open=True,
        name="webhooks",
    )

    def sender() -> Sender:
        return Sender(
            http_client(settings.webhook_timeout_seconds),
            lambda url: check_url(url, settings.webhook_allowed_hosts),
            lambda sealed: open_secret(sealed, ledger.credentials),
        )

    def disable(webhook: UUID, reason: str) -> None:
        try:
            ledger[WebhookCommands].disable_webhook(webhook, reason)
        except WebhookNotFound:
            log.info("webhook %s was deleted before it could be disabled", webhook)

    values: dict[str, Any] = {
        "workers": settings.webhook_workers,
        "lease": timedelta(seconds=settings.webhook_lease_seconds),
        "send_timeout": timedelta(seconds=settings.webhook_timeout_seconds),
        "disable_after": settings.webhook_disable_after,
        **overrides,
    }
    return WebhookDispatcher(
        DeliveryOutbox(pool),
        conninfo(container.database_url),
        sender,
        disable,
        RetrySchedule(tuple(settings.webhook_retry_schedule), settings.webhook_retry_jitter),
        EndpointGates(
            settings.webhook_endpoint_concurrency,
            lambda: CircuitBreaker(
                settings.webhook_breaker_failures,
                timedelta(seconds=settings.webhook_breaker_cooldown_seconds),
            ),
        ),
        on_close=pool.close,
        **values,
    )
