"""The composition root: Settings in, the objects the API, worker, CLI and tests use out."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool

from application.credential import CredentialVault
from application.ledger import Ledger
from application.token import TokenIssuer
from application.webhook_retry import CircuitBreaker, RetrySchedule
from application.webhooks import open_secret
from domain.webhook import WebhookNotFound
from interfaces.adapters import event_store
from interfaces.adapters.bus import EventBus, LocalBus, RedisBus
from interfaces.adapters.embedded_postgres import EmbeddedPostgres
from interfaces.adapters.event_chain import ChainSealer
from interfaces.adapters.postgres_bus import PostgresBus
from interfaces.adapters.relay import EventRelay, RelayRunner
from interfaces.adapters.webhook_dispatcher import (
    EndpointGates,
    Sender,
    WebhookDispatcher,
    http_client,
)
from interfaces.adapters.webhook_guard import check_url
from interfaces.adapters.webhook_outbox import DeliveryOutbox
from interfaces.settings import Settings
from projections.api_key import ApiKeyProjection, ApiKeyQueries
from projections.audit import AuditLog
from projections.event_feed import EventFeed, EventFeedProjection
from projections.runner import Projection, ProjectionGroup, ProjectionRunner
from projections.session import SessionProjection, SessionQueries
from projections.task import TaskProjection, TaskQueries
from projections.user import UserProjection, UserQueries
from projections.watch import PositionWatch
from projections.webhook import WebhookProjection, WebhookQueries
from projections.webhook_delivery import WebhookDeliveries, WebhookDeliveryProjection

log = logging.getLogger(__name__)

TASKS = "tasks"
USERS = "users"
SESSIONS = "sessions"
API_KEYS = "api_keys"
EVENT_FEED = "event_feed"
WEBHOOKS = "webhooks"


def eventsourcing_env(database_url: str, pool_size: int) -> dict[str, str]:
    """The eventsourcing library's environment for a PostgreSQL URL."""
    params = conninfo_to_dict(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(params.get("dbname") or "postgres"),
        "POSTGRES_HOST": str(params.get("host") or "localhost"),
        "POSTGRES_PORT": str(params.get("port") or "5432"),
        "POSTGRES_USER": str(params.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(params.get("password") or ""),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(pool_size),
        "POSTGRES_LOCK_TIMEOUT": "5",
        "CREATE_TABLE": "y",
        "APPLICATION_RECORDER_TOPIC": event_store.TOPIC,
    }


def conninfo(database_url: str) -> str:
    """A libpq conninfo for our own connections: UTC timestamps and a name in pg_stat_activity."""
    return make_conninfo(database_url, options="-c timezone=UTC", application_name="ledgerflow")


def projections() -> list[Projection]:
    """Every read model Ledgerflow maintains."""
    return [
        TaskProjection(TASKS),
        UserProjection(USERS),
        SessionProjection(SESSIONS),
        ApiKeyProjection(API_KEYS),
        EventFeedProjection(EVENT_FEED),
        WebhookProjection(WEBHOOKS),
        WebhookDeliveryProjection(),
    ]


def event_bus(settings: Settings, info: str) -> EventBus:
    """The live event bus that ``LEDGERFLOW_BUS`` names (see Settings.bus_kind)."""
    kind = settings.bus_kind
    if kind == "redis":
        assert settings.redis_url is not None  # checked by Settings
        return RedisBus(settings.redis_url)
    if kind == "postgres":
        return PostgresBus(info)
    return LocalBus()


@dataclass
class Container:
    """Everything a process of Ledgerflow needs, built once from Settings."""

    settings: Settings
    database_url: str
    ledger: Ledger
    tokens: TokenIssuer
    pool: ConnectionPool[Any]
    tasks: TaskQueries
    users: UserQueries
    sessions: SessionQueries
    api_keys: ApiKeyQueries
    webhooks: WebhookQueries
    audit: AuditLog
    watch: PositionWatch
    runners: list[ProjectionRunner]
    events: EventFeed
    bus: EventBus
    webhook_deliveries: WebhookDeliveries
    embedded: EmbeddedPostgres | None = None
    _started: list[Any] = field(default_factory=list)

    def start(self, *, projections: bool | None = None) -> None:
        """Start background work: the position watch and (when asked) the projection runners."""
        run = self.settings.run_projections if projections is None else projections
        self.ensure_read_models()
        self.watch.start()
        self._started.append(self.watch)
        if run:
            self.start_projections()

    def ensure_read_models(self) -> None:
        """Create the tracking and read-model tables if missing (idempotent), so queries work
        even before a worker has run; another process creating them at the same time is fine."""
        with (
            psycopg.connect(conninfo(self.database_url), autocommit=True) as conn,
            event_store.schema_lock(conn),
        ):
            for runner in self.runners:
                runner.setup(conn)

    def start_projections(self) -> None:
        """Create the read-model tables, then follow the log: the read models together in one
        thread (one read and one decode of each event), the relay and the sealer in their own
        (a bus outage must not hold up the read models)."""
        self.ensure_read_models()
        grouped = [r for r in self.runners if type(r) is ProjectionRunner]
        group = ProjectionGroup(
            conninfo(self.database_url),
            grouped,
            self.ledger.recorder,
            self.ledger.mapper,
            self.ledger.recorder.channel_name,  # type: ignore[attr-defined]
            self.ledger.recorder.events_table_name,  # type: ignore[attr-defined]
        )
        for follower in [group, *(r for r in self.runners if r not in grouped)]:
            follower.start()
            self._started.append(follower)
        if self.settings.webhook_dispatcher:
            self.start_dispatcher()

    def start_dispatcher(self) -> WebhookDispatcher:
        """Deliver webhooks from this process (beside the projections, or alone)."""
        dispatcher = webhook_dispatcher(self)
        dispatcher.start()
        self._started.append(dispatcher)
        return dispatcher

    def close(self) -> None:
        """Stop background work and release connections (and the embedded server)."""
        for started in reversed(self._started):
            started.stop()
        self._started.clear()
        self.bus.close()
        self.ledger.close()
        self.pool.close()
        if self.embedded is not None:
            self.embedded.stop()


def build(settings: Settings | None = None) -> Container:
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
    )
    allowed_hosts = list(settings.webhook_allowed_hosts)
    ledger = Ledger(
        eventsourcing_env(database_url, settings.db_pool_size),
        credentials=vault,
        check_webhook_url=lambda url: check_url(url, allowed_hosts),
    )
    info = conninfo(database_url)
    pool: ConnectionPool[Any] = ConnectionPool(
        info, min_size=2, max_size=settings.db_pool_size, open=True, name="queries"
    )
    events_channel = ledger.recorder.channel_name  # type: ignore[attr-defined]
    runners = [
        ProjectionRunner(info, p, ledger.recorder, ledger.mapper, events_channel)
        for p in projections()
    ]
    bus = event_bus(settings, info)
    relay = EventRelay(bus)
    runners.append(RelayRunner(info, relay, ledger.recorder, ledger.mapper, events_channel))
    events_table = ledger.recorder.events_table_name  # type: ignore[attr-defined]
    runners.append(ChainSealer(info, ledger.recorder, ledger.mapper, events_channel, events_table))
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
        tasks=TaskQueries(pool, TASKS),
        users=UserQueries(pool, USERS),
        sessions=SessionQueries(pool, SESSIONS),
        api_keys=ApiKeyQueries(pool, API_KEYS),
        webhooks=WebhookQueries(pool, WEBHOOKS),
        audit=AuditLog(pool, events_table, ledger.mapper),
        watch=PositionWatch(info),
        runners=runners,
        events=EventFeed(pool, EVENT_FEED),
        bus=bus,
        webhook_deliveries=WebhookDeliveries(pool),
        embedded=embedded,
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
            ledger.disable_webhook(webhook, reason)
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
