"""The embedded default: no configuration, its own PostgreSQL, data that survives a restart."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import server_env, start_server

JOHN = {"username": "johndoe", "password": "securepass123", "name": "John", "lastname": "Doe"}


def test_ledgerflow_serve_with_no_database_url_keeps_its_data_across_a_restart(
    tmp_path, embedded_data_dir
):
    data_dir = embedded_data_dir
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


def test_several_worker_processes_still_read_their_own_writes(tmp_path, embedded_data_dir):
    env = server_env(LEDGERFLOW_DATA_DIR=str(embedded_data_dir))
    server = start_server(env, tmp_path / "workers.log", "--workers", "2")
    try:
        body = {"username": "worker_user", "password": "securepass123"}
        assert httpx.post(f"{server.base_url}/register", json=body).status_code == 200
        token = httpx.post(f"{server.base_url}/login", json=body).json()["token"]
        # A new connection per request lets the kernel spread them over both workers.
        for i in range(20):
            created = httpx.post(
                f"{server.base_url}/api/v1/tasks",
                json={"name": f"t{i}"},
                headers={"Authorization": token},
            )
            assert created.status_code == 201
            listed = httpx.get(
                f"{server.base_url}/api/v1/tasks", headers={"Authorization": token}
            ).json()
            assert listed["total"] == i + 1
    finally:
        assert server.stop() == 0
