"""Read-your-writes through the API on real PostgreSQL and Redis."""

import time
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from interfaces.api.app import create_app
from interfaces.api.consistency import RedisPositions
from interfaces.bootstrap import build
from tests.conftest import make_settings

USER = {"username": "johndoe", "password": "securepass123", "name": "John", "lastname": "Doe"}


def login(client):
    client.post("/register", json=USER)
    token = client.post("/login", json={"username": "johndoe", "password": "securepass123"})
    return {"Authorization": token.json()["token"]}


@pytest.fixture
def api(database_url, redis_url):
    """Two API instances sharing one database and one Redis; projections run in the first."""
    first = build(make_settings(database_url, redis_url=redis_url))
    second = build(make_settings(database_url, redis_url=redis_url, run_projections=False))
    first.start()
    second.start()
    with TestClient(create_app(first)) as a, TestClient(create_app(second)) as b:
        yield a, b
    second.close()
    first.close()


def test_a_client_reads_its_write_on_another_instance(api):
    a, b = api
    headers = login(a)
    for i in range(10):
        created = a.post("/api/v1/tasks", json={"name": f"task {i}"}, headers=headers)
        assert created.status_code == 201
        listed = b.get("/api/v1/tasks", headers=headers)
        assert listed.status_code == 200
        assert created.json()["task_id"] in [t["task_id"] for t in listed.json()["tasks"]]


def test_the_position_of_a_write_is_shared_through_redis(api, redis_url):
    a, _ = api
    headers = login(a)
    created = a.post("/api/v1/tasks", json={"name": "shared"}, headers=headers)
    me = a.get("/me", headers=headers).json()["user_id"]
    positions = RedisPositions(redis_url)
    assert positions.get(uuid4()) == 0
    assert positions.get(UUID(me)) == created.json()["position"]


def test_a_query_answers_503_when_the_projection_is_down(database_url):
    built = build(make_settings(database_url, run_projections=False, read_wait_timeout=0.3))
    built.start()
    try:
        with TestClient(create_app(built)) as client:
            headers = login(client)
            client.post("/api/v1/tasks", json={"name": "waiting"}, headers=headers)
            answer = client.get("/api/v1/tasks", headers=headers)
            assert answer.status_code == 503
            assert answer.json()["code"] == "READ_MODEL_BEHIND"
            assert "not caught up" in answer.json()["detail"]
            assert answer.headers["Retry-After"] == "1"
            built.start_projections()
            # Catching up takes a moment (more on a loaded machine) than the 0.3 s bound above.
            deadline = time.monotonic() + 30
            while (late := client.get("/api/v1/tasks", headers=headers)).status_code == 503:
                assert time.monotonic() < deadline, late.text
            assert late.json()["total"] == 1
    finally:
        built.close()


def test_commands_still_succeed_when_redis_is_unreachable(database_url):
    built = build(make_settings(database_url, redis_url="redis://127.0.0.1:1/0"))
    built.start()
    try:
        with TestClient(create_app(built)) as client:
            headers = login(client)
            created = client.post("/api/v1/tasks", json={"name": "no redis"}, headers=headers)
            assert created.status_code == 201
            listed = client.get("/api/v1/tasks", headers=headers).json()
            assert [t["name"] for t in listed["tasks"]] == ["no redis"]
    finally:
        built.close()


def test_an_explicit_min_position_beyond_the_log_is_refused_at_once_with_422(database_url):
    # A long bound: the old code waited all of it and then answered 503.
    built = build(make_settings(database_url, read_wait_timeout=600))
    built.start()
    try:
        with TestClient(create_app(built)) as client:
            headers = {**login(client), "X-Ledgerflow-Min-Position": "999999"}
            answer = client.get("/api/v1/tasks", headers=headers)
            assert answer.status_code == 422
            assert "beyond the last position recorded" in answer.json()["detail"]
    finally:
        built.close()
