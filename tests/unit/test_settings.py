"""Settings: environment variables with the LEDGERFLOW_ prefix, and safe refusals."""

import pytest
from pydantic import ValidationError

from interfaces.settings import Settings


def test_with_no_database_url_the_embedded_default_applies(monkeypatch):
    monkeypatch.delenv("LEDGERFLOW_DATABASE_URL", raising=False)
    assert Settings().embedded


def test_settings_come_from_prefixed_environment_variables(monkeypatch):
    monkeypatch.setenv("LEDGERFLOW_DATABASE_URL", "postgresql://u:p@db:5432/x")
    monkeypatch.setenv("LEDGERFLOW_REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("LEDGERFLOW_TOKEN_TTL_SECONDS", "120")
    settings = Settings()
    assert (settings.database_url, settings.redis_url, settings.token_ttl_seconds) == (
        "postgresql://u:p@db:5432/x",
        "redis://cache:6379/0",
        120,
    )
    assert not settings.embedded


@pytest.mark.parametrize("secret", [None, "too-short"])
def test_production_refuses_the_default_or_a_short_secret(monkeypatch, secret):
    monkeypatch.setenv("LEDGERFLOW_ENVIRONMENT", "production")
    if secret:
        monkeypatch.setenv("LEDGERFLOW_SECRET_KEY", secret)
    else:
        monkeypatch.delenv("LEDGERFLOW_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="LEDGERFLOW_SECRET_KEY"):
        Settings()


def test_production_starts_with_a_private_secret(monkeypatch):
    monkeypatch.setenv("LEDGERFLOW_ENVIRONMENT", "production")
    monkeypatch.setenv("LEDGERFLOW_SECRET_KEY", "x" * 40)
    assert Settings().environment == "production"


@pytest.mark.parametrize(
    ("bus", "redis_url", "expected"),
    [
        ("auto", None, "postgres"),
        ("auto", "redis://cache:6379/0", "redis"),
        ("postgres", "redis://cache:6379/0", "postgres"),
        ("local", None, "local"),
        ("redis", "redis://cache:6379/0", "redis"),
    ],
)
def test_the_bus_is_redis_with_a_redis_url_else_postgres_unless_named(
    monkeypatch, bus, redis_url, expected
):
    monkeypatch.delenv("LEDGERFLOW_REDIS_URL", raising=False)
    monkeypatch.setenv("LEDGERFLOW_BUS", bus)
    if redis_url:
        monkeypatch.setenv("LEDGERFLOW_REDIS_URL", redis_url)
    assert Settings().bus_kind == expected


def test_the_redis_bus_without_a_redis_url_is_refused(monkeypatch):
    monkeypatch.delenv("LEDGERFLOW_REDIS_URL", raising=False)
    monkeypatch.setenv("LEDGERFLOW_BUS", "redis")
    with pytest.raises(ValidationError, match="LEDGERFLOW_REDIS_URL"):
        Settings()


@pytest.mark.parametrize(
    ("given", "hosts"),
    [
        ("127.0.0.1, 10.0.0.0/8,hooks.internal", ["127.0.0.1", "10.0.0.0/8", "hooks.internal"]),
        ('["127.0.0.1", "fd00::/8"]', ["127.0.0.1", "fd00::/8"]),
        ("", []),
    ],
)
def test_webhook_allowed_hosts_are_comma_separated_or_a_json_list(monkeypatch, given, hosts):
    monkeypatch.setenv("LEDGERFLOW_WEBHOOK_ALLOWED_HOSTS", given)
    assert Settings().webhook_allowed_hosts == hosts


def test_no_webhook_host_is_allowed_by_default(monkeypatch):
    monkeypatch.delenv("LEDGERFLOW_WEBHOOK_ALLOWED_HOSTS", raising=False)
    assert Settings().webhook_allowed_hosts == []


def test_the_password_hash_cost_is_set_and_kept_above_owasp_s_minimum_outside_development():
    cheap = Settings(password_hash_memory_kib=1024, password_hash_time_cost=1)
    assert (cheap.password_hash_memory_kib, cheap.password_hash_time_cost) == (1024, 1)
    assert (Settings().password_hash_memory_kib, Settings().password_hash_time_cost) == (65536, 3)
    with pytest.raises(ValidationError, match="PASSWORD_HASH_MEMORY_KIB"):
        Settings(environment="production", secret_key="x" * 40, password_hash_memory_kib=1024)
    with pytest.raises(ValidationError, match="PASSWORD_HASH_TIME_COST"):
        Settings(environment="production", secret_key="x" * 40, password_hash_time_cost=1)
