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
