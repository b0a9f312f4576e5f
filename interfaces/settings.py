"""All configuration: environment variables prefixed ``LEDGERFLOW_`` (one settings class)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from platformdirs import user_data_dir
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from application.webhook_retry import DEFAULT_SCHEDULE

DEFAULT_SECRET = "ledgerflow-development-secret-change-me"  # noqa: S105 - refused outside development
MIN_HASH_MEMORY_KIB = 19456  # OWASP: argon2id with 19 MiB and 2 passes at the least


class Settings(BaseSettings):
    """Ledgerflow's settings; with no database URL the embedded default applies."""

    model_config = SettingsConfigDict(env_prefix="LEDGERFLOW_", env_file=None, extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str | None = Field(
        default=None, description="postgresql://… of the event store; unset = embedded PostgreSQL"
    )
    redis_url: str | None = Field(default=None, description="redis://…; unset = no Redis")
    bus: Literal["auto", "redis", "postgres", "local"] = Field(
        default="auto",
        description="live event bus: auto = redis with a Redis URL, else postgres (LISTEN/NOTIFY);"
        " local = in-process only (one process serves every WebSocket)",
    )
    data_dir: Path = Field(
        default_factory=lambda: Path(user_data_dir("ledgerflow")),
        description="where the embedded PostgreSQL keeps its data",
    )
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)
    previous_secret_keys: list[SecretStr] = Field(default_factory=list)
    token_ttl_seconds: int = Field(default=3600, ge=60)
    password_min_length: int = Field(default=8, ge=1)
    password_refuse_common: bool = Field(default=True, description="refuse well-known passwords")
    password_hash_memory_kib: int = Field(
        default=65536, ge=64, description="argon2id memory per password hash (KiB)"
    )
    password_hash_time_cost: int = Field(
        default=3, ge=1, description="argon2id passes per password hash"
    )
    run_projections: bool = Field(default=True, description="run the projection runners in-process")
    switch_interval_ms: float = Field(
        default=5.0,
        gt=0,
        le=1000,
        description="how long a thread may hold Python's interpreter lock before another may"
        " run (sys.setswitchinterval); lower = followers wait less behind HTTP work",
    )
    read_wait_timeout: float = Field(
        default=5.0, gt=0, description="read-your-writes wait bound (s)"
    )
    read_waits_per_principal: int = Field(
        default=16, ge=1, description="reads of one principal that may wait for a read model"
    )
    db_pool_size: int = Field(default=10, ge=1)
    rate_limit: str = Field(
        default="100/minute", description="requests per principal (limits syntax)"
    )
    login_rate_limit: str = Field(
        default="10/minute", description="login attempts per username and client address"
    )
    login_address_rate_limit: str = Field(
        default="30/minute", description="login attempts per client address"
    )
    login_username_rate_limit: str = Field(
        default="100/minute",
        description="login attempts per username from all addresses (a higher ceiling)",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="largest request body and WebSocket message accepted (413 / close 1009)",
    )
    ws_heartbeat_seconds: float = Field(default=20.0, gt=0, description="WebSocket heartbeat")
    ws_outbox_size: int = Field(default=1000, ge=1, description="events a slow client may lag")
    ws_auth_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="a socket's first message must come by then (4408)"
    )
    ws_auth_max_bytes: int = Field(
        default=4096,
        ge=256,
        le=65536,
        description="largest first (auth) message of a WebSocket before it is authenticated (1009)",
    )
    log_level: str = "info"
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto",
        description="auto: readable lines on a terminal, JSON lines otherwise; or json, text",
    )
    # Webhook delivery (interfaces/adapters/webhook_dispatcher.py)
    webhook_dispatcher: bool = Field(
        default=True, description="deliver webhooks where the projections run"
    )
    webhook_retry_schedule: list[float] = Field(
        default_factory=lambda: list(DEFAULT_SCHEDULE),
        description="delay in seconds before each attempt (JSON list); its length is the attempts",
    )
    webhook_retry_jitter: float = Field(default=0.2, ge=0, lt=1, description="± share of a delay")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, description="per attempt")
    webhook_workers: int = Field(default=8, ge=1, description="concurrent deliveries per process")
    webhook_endpoint_concurrency: int = Field(
        default=4, ge=1, description="concurrent deliveries to one endpoint per process"
    )
    webhook_breaker_failures: int = Field(default=5, ge=1, description="failures that open it")
    webhook_breaker_cooldown_seconds: float = Field(default=30.0, gt=0)
    webhook_lease_seconds: float = Field(
        default=60.0, gt=0, description="a claimed delivery is retaken after this"
    )
    webhook_disable_after: timedelta = Field(
        default=timedelta(days=5), description="continuous failure that disables an endpoint"
    )
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="comma-separated host names, IPs or CIDRs that webhooks may reach although"
        " they are not public (SSRF allow list), e.g. 127.0.0.1,10.0.0.0/8",
    )
    # Chat, metrics and readiness (docs/chat.md, docs/operations.md)
    chat_provider: str = Field(
        default="none",
        description="chat intent provider: none (the deterministic parser) or module:factory",
    )
    metrics_enabled: bool = Field(
        default=True, description="serve /metrics and count every request (false: neither)"
    )
    metrics_token: SecretStr | None = Field(
        default=None, description="when set, /metrics needs Authorization: Bearer <token>"
    )
    metrics_sample_seconds: float = Field(
        default=5.0, gt=0, description="how often /metrics' database numbers are re-read"
    )
    ready_max_lag: int = Field(
        default=10_000, ge=0, description="GET /ready fails when a read model lags more events"
    )

    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For and"
        " X-Forwarded-Proto are believed; empty: nobody's (not even 127.0.0.1)",
    )
    # Agents (docs/agents.md)
    agent_lease_seconds: float = Field(
        default=300.0, gt=0, description="how long a polled command stays leased to its agent"
    )
    agent_offline_after: float = Field(
        default=60.0, gt=0, description="seconds without a heartbeat before an agent is offline"
    )
    agent_poll_interval_ms: int = Field(
        default=5000, ge=100, description="the nextPollInterval a heartbeat answers"
    )
    agent_rate_limit: str = Field(
        default="1000/minute",
        description="requests per agent token, a budget of its own (DevFlow's Tasks API limit)",
    )
    agent_heartbeat_rate_limit: str = Field(
        default="10/minute", description="heartbeats per agent (DevFlow's limit)"
    )

    @field_validator("webhook_allowed_hosts", "trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str) and value.lstrip().startswith("["):
            return json.loads(value)  # a JSON list, like the other list settings
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _lease_outlasts_a_send(self) -> Settings:
        if self.webhook_lease_seconds <= self.webhook_timeout_seconds:
            raise ValueError(
                "LEDGERFLOW_WEBHOOK_LEASE_SECONDS must be longer than"
                " LEDGERFLOW_WEBHOOK_TIMEOUT_SECONDS (a claim must outlast a send)"
            )
        return self

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        secret = self.secret_key.get_secret_value()
        if self.environment != "development" and (secret == DEFAULT_SECRET or len(secret) < 32):
            raise ValueError(
                "LEDGERFLOW_SECRET_KEY must be set to a private value of at least 32 characters"
                " outside development"
            )
        return self

    @model_validator(mode="after")
    def _hash_cost_outside_development(self) -> Settings:
        weak = (
            self.password_hash_memory_kib < MIN_HASH_MEMORY_KIB or self.password_hash_time_cost < 2
        )
        if self.environment != "development" and weak:
            raise ValueError(
                "LEDGERFLOW_PASSWORD_HASH_MEMORY_KIB must be at least"
                f" {MIN_HASH_MEMORY_KIB} and LEDGERFLOW_PASSWORD_HASH_TIME_COST at least 2"
                " outside development (OWASP's minimum for argon2id)"
            )
        return self

    @model_validator(mode="after")
    def _redis_bus_needs_url(self) -> Settings:
        if self.bus == "redis" and not self.redis_url:
            raise ValueError("LEDGERFLOW_BUS=redis needs LEDGERFLOW_REDIS_URL")
        return self

    @property
    def bus_kind(self) -> Literal["redis", "postgres", "local"]:
        """The bus in use: ``auto`` resolved by whether a Redis URL is set."""
        if self.bus == "auto":
            return "redis" if self.redis_url else "postgres"
        return self.bus

    @property
    def embedded(self) -> bool:
        """True when Ledgerflow starts its own PostgreSQL."""
        return self.database_url is None
