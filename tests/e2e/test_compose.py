"""docker-compose.yml without Docker: each Ledgerflow service's command runs with its environment
against the test PostgreSQL and Redis, and its health check passes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.e2e.conftest import free_port
from tests.integration.cli import LEDGERFLOW

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
SECRET = "compose-test-secret-of-more-than-32-characters"
PORT = "8000"
HEARTBEAT = "/tmp/ledgerflow-worker.heartbeat"


class Stack:
    """The compose file's Ledgerflow services, rewritten for this machine."""

    def __init__(self, database_url: str, redis_url: str, directory: Path) -> None:
        self.services: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
        self.port = str(free_port())
        self.replacements = {
            PORT: self.port,
            HEARTBEAT: str(directory / "worker.heartbeat"),
        }
        self.hosts = {"LEDGERFLOW_DATABASE_URL": database_url, "LEDGERFLOW_REDIS_URL": redis_url}

    def _rewritten(self, words: list[str]) -> list[str]:
        out = []
        for word in words:
            new_word = word
            for old, new in self.replacements.items():
                new_word = new_word.replace(old, new)
            out.append(new_word)
        return out

    def environment(self, service: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERFLOW_")}
        for name, given in self.services[service]["environment"].items():
            value = self.hosts.get(name, str(given))
            env[name] = re.sub(r"\$\{LEDGERFLOW_SECRET_KEY[^}]*\}", SECRET, value)
        return env

    def command(self, service: str) -> list[str]:
        command = self._rewritten(self.services[service]["command"])
        assert command[0] == "ledgerflow"
        return [*LEDGERFLOW, *command[1:]]

    def start(self, service: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.command(service), env=self.environment(service))

    def healthy(self, service: str) -> bool:
        test = self._rewritten(self.services[service]["healthcheck"]["test"])
        assert test[:2] == ["CMD", "python"]
        return subprocess.run([sys.executable, *test[2:]], check=False).returncode == 0


def wait_until(predicate: Any, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.5)


def test_the_compose_services_migrate_serve_and_project_with_their_environment(
    database_url, redis_url, tmp_path
):
    stack = Stack(database_url, redis_url, tmp_path)
    assert stack.services["api"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    migrate = subprocess.run(
        stack.command("migrate"), env=stack.environment("migrate"), timeout=120, check=False
    )
    assert migrate.returncode == 0
    api, worker = stack.start("api"), stack.start("worker")
    try:
        wait_until(lambda: stack.healthy("api") and stack.healthy("worker"))
        base = f"http://127.0.0.1:{stack.port}"
        body = {"username": "composer", "password": "securepass123"}
        assert httpx.post(f"{base}/register", json=body).status_code == 200
        headers = {"Authorization": httpx.post(f"{base}/login", json=body).json()["token"]}
        created = httpx.post(f"{base}/api/v1/tasks", json={"name": "composed"}, headers=headers)
        assert created.status_code == 201
        # The API runs no projections here: the worker's read model answers.
        listed = httpx.get(f"{base}/api/v1/tasks", headers=headers, timeout=30).json()
        assert [t["name"] for t in listed["tasks"]] == ["composed"]
    finally:
        for process in (api, worker):
            process.send_signal(signal.SIGTERM)
        statuses = [process.wait(timeout=60) for process in (api, worker)]
    assert statuses == [0, 0]
    assert not stack.healthy("api")
