"""The embedded default: no configuration, its own PostgreSQL, data that survives a restart."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import server_env, start_server

JOHN = {"username": "johndoe", "password": "securepass123", "name": "John", "lastname": "Doe"}


def test_ledgerflow_serve_with_no_database_url_keeps_its_data_across_a_restart(tmp_path):
    data_dir = tmp_path / "data"
    env = server_env(LEDGERFLOW_DATA_DIR=str(data_dir))
    env.pop("LEDGERFLOW_SECRET_KEY")  # the development default applies
    first = start_server(env, tmp_path / "first.log")
    try:
        assert httpx.post(f"{first.base_url}/register", json=JOHN).status_code == 200
        login = httpx.post(
            f"{first.base_url}/login", json={"username": "johndoe", "password": "securepass123"}
        )
        headers = {"Authorization": login.json()["token"]}
        created = httpx.post(
            f"{first.base_url}/api/v1/tasks",
            headers=headers,
            json={"name": "survive a restart", "priority": "urgent"},
        )
        assert created.status_code == 201
    finally:
        assert first.stop() == 0
    assert (data_dir / "pg" / "PG_VERSION").exists()

    second = start_server(env, tmp_path / "second.log", "--data-dir", str(data_dir))
    try:
        login = httpx.post(
            f"{second.base_url}/login", json={"username": "johndoe", "password": "securepass123"}
        )
        assert login.status_code == 200
        headers = {"Authorization": login.json()["token"]}
        tasks = httpx.get(f"{second.base_url}/api/v1/tasks", headers=headers).json()["tasks"]
        assert [(t["name"], t["priority"]) for t in tasks] == [("survive a restart", "urgent")]
    finally:
        assert second.stop() == 0
