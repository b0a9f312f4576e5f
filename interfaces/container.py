"""What a process of Ledgerflow holds once built: the Container, and the connection helpers.

``interfaces/bootstrap.py`` (the composition root) builds it from Settings and the feature list.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool

from application.handlers import Handlers
from application.ledger import Ledger
from application.token import TokenIssuer
from interfaces.adapters import event_store
from interfaces.adapters.bus import EventBus, LocalBus, RedisBus
from interfaces.adapters.embedded_postgres import EmbeddedPostgres
from interfaces.adapters.postgres_bus import PostgresBus
from interfaces.adapters.reactor_runner import ReactorRunner
from interfaces.adapters.webhook_dispatcher import WebhookDispatcher
from interfaces.feature import Feature
from interfaces.metrics import MetricsSampler
from interfaces.settings import Settings
from projections.audit import AuditLog
from projections.event_feed import EventFeed
from projections.group import ProjectionGroup
from projections.log_reader import LogReader
from projections.runner import ProjectionRunner
from projections.watch import PositionWatch

log = logging.getLogger(__name__)
Q = TypeVar("Q")


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
    features: Sequence[Feature]
    queries: dict[type, Any]
    audit: AuditLog
    watch: PositionWatch
    reader: LogReader
    runners: list[ProjectionRunner]
    reactors: list[ReactorRunner]
    events: EventFeed
    bus: EventBus
    make_dispatcher: Callable[[Container], WebhookDispatcher]
    embedded: EmbeddedPostgres | None = None
    sampler: MetricsSampler | None = None  # the numbers /metrics reads from the database
    _started: list[Any] = field(default_factory=list)

    def query(self, kind: type[Q]) -> Q:
        """The queries object of a read model (``container.query(TaskQueries)``)."""
        found = self.queries[kind]
        assert isinstance(found, kind)
        return found

    def lookup(self, kind: type) -> Any:
        """What a feature's analytics and exports look up by class: a read model's queries, or
        a feature's handlers (the agents' liveness store, for heartbeat times and figures)."""
        return self.ledger[kind] if issubclass(kind, Handlers) else self.query(kind)

    def start(self, *, projections: bool | None = None) -> None:
        """Start background work: the position watch and (when asked) the projection runners."""
        run = self.settings.run_projections if projections is None else projections
        self.ensure_read_models()
        self.watch.start()
        self._started.append(self.watch)
        if self.sampler is not None:
            self.sampler.start()
            self._started.append(self.sampler)
        if run:
            self.start_projections(ensured=True)

    def ensure_read_models(self) -> None:
        """Create the tracking and read-model tables if missing (idempotent), so queries work
        even before a worker has run; another process creating them at the same time is fine."""
        with (
            psycopg.connect(conninfo(self.database_url), autocommit=True) as conn,
            event_store.schema_lock(conn),
        ):
            for runner in self.runners:
                runner.setup(conn)
            for reactor in self.reactors:
                reactor.setup(conn)

    def start_projections(self, *, ensured: bool = False) -> None:
        """Create the read-model tables, then follow the log through the one reader of this
        process (one read and one decode of each event): the read models together in one
        thread, the relay, the sealer and each reactor in their own (a bus outage or a failing
        reaction must not hold up the read models)."""
        if not ensured:  # start() has just done it (about half a second per start)
            self.ensure_read_models()
        grouped = [r for r in self.runners if type(r) is ProjectionRunner]
        group = ProjectionGroup(conninfo(self.database_url), grouped, self.reader)
        if self.reader not in self._started:  # follow_log may have started it
            self.reader.start()
            self._started.append(self.reader)
        followers = [group, *(r for r in self.runners if r not in grouped), *self.reactors]
        for follower in followers:
            follower.start()
            self._started.append(follower)
        if self.settings.webhook_dispatcher:
            self.start_dispatcher()

    def follow_log(self) -> LogReader:
        """The process's log reader, listening, its window open: started here when no follower
        of this process started it (``serve --workers N``: the HTTP workers run none). It then
        reads and decodes every new event, once, and polls once a second for a lost NOTIFY."""
        with psycopg.connect(conninfo(self.database_url), autocommit=True) as conn:
            self.reader.open_at_head(conn)
        if self.reader not in self._started:
            self.reader.start()
            self._started.append(self.reader)
        return self.reader

    def start_dispatcher(self) -> WebhookDispatcher:
        """Deliver webhooks from this process (beside the projections, or alone)."""
        dispatcher = self.make_dispatcher(self)
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
