"""docker-compose.yml cannot run here (no Docker engine), so its shape is checked instead."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_starts_postgres_redis_the_api_and_the_worker_from_one_image():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "api", "worker"}
    assert services["api"]["build"] == services["worker"]["build"] == "."
    assert services["api"]["command"][:2] == ["ledgerflow", "serve"]
    assert services["worker"]["command"] == ["ledgerflow", "worker"]
    for name in ("api", "worker"):
        env = services[name]["environment"]
        assert env["LEDGERFLOW_DATABASE_URL"].startswith("postgresql://")
        assert env["LEDGERFLOW_REDIS_URL"].startswith("redis://")
        assert env["LEDGERFLOW_ENVIRONMENT"] == "production"
        assert set(services[name]["depends_on"]) == {"postgres", "redis"}
    assert services["api"]["environment"]["LEDGERFLOW_RUN_PROJECTIONS"] == "false"


def test_the_image_installs_the_four_packages_and_runs_ledgerflow():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("domain", "application", "projections", "interfaces"):
        assert f"COPY {package} ./{package}" in dockerfile
    assert 'CMD ["ledgerflow", "serve"' in dockerfile
