"""The task API over HTTP: isolation between users, read-your-writes, concurrency, bad input."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from tests.conftest import TEST_SECRET
from tests.e2e.conftest import ERROR_FIELDS

# Endpoints anyone may call (no 401 to document).
PUBLIC_PATHS = (
    "/register",
    "/api/v1/auth/register",
    "/health",
    "/oauth/token",
    "/api/v1/health",
    "/ready",
    "/metrics",
)


def account(base_url: str) -> dict[str, str]:
    """A new user's auth header."""
    username = f"user_{uuid.uuid4().hex[:10]}"
    body = {"username": username, "password": "correct-horse-9", "name": "A", "lastname": "B"}
    assert httpx.post(f"{base_url}/register", json=body).status_code == 200
    token = httpx.post(
        f"{base_url}/login", json={"username": username, "password": "correct-horse-9"}
    )
    return {"Authorization": f"Bearer {token.json()['token']}"}


@pytest.fixture
def client(base_url):
    with httpx.Client(base_url=base_url, headers=account(base_url)) as c:
        yield c


def test_read_your_writes_for_20_back_to_back_create_then_list_pairs(client):
    for i in range(20):
        created = client.post("/api/v1/tasks", json={"name": f"task {i}"})
        assert created.status_code == 201
        listed = client.get("/api/v1/tasks", params={"limit": 50}).json()
        assert listed["total"] == i + 1
        assert listed["tasks"][0]["task_id"] == created.json()["task_id"]
        updated = client.put(
            f"/api/v1/tasks/{created.json()['task_id']}", json={"status": "completed"}
        )
        got = client.get(f"/api/v1/tasks/{created.json()['task_id']}").json()
        assert got["status"] == "completed" and got["version"] == updated.json()["version"]


def test_another_users_task_is_404_everywhere_and_never_listed(base_url, client):
    task = client.post("/api/v1/tasks", json={"name": "private"}).json()
    with httpx.Client(base_url=base_url, headers=account(base_url)) as stranger:
        url = f"/api/v1/tasks/{task['task_id']}"
        assert stranger.get(url).status_code == 404
        assert stranger.put(url, json={"name": "stolen"}).status_code == 404
        assert stranger.delete(url).status_code == 404
        assert stranger.get("/api/v1/tasks").json()["total"] == 0
    assert client.get(f"/api/v1/tasks/{task['task_id']}").json()["name"] == "private"


def test_an_etag_is_returned_and_a_stale_if_match_gets_412(client):
    created = client.post("/api/v1/tasks", json={"name": "v1"})
    url = f"/api/v1/tasks/{created.json()['task_id']}"
    assert created.headers["ETag"] == '"1"' and client.get(url).headers["ETag"] == '"1"'
    ok = client.put(url, json={"name": "v2"}, headers={"If-Match": '"1"'})
    assert ok.status_code == 200 and ok.headers["ETag"] == '"2"'
    stale = client.put(url, json={"name": "v3"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json()["code"] == "STALE_VERSION"
    assert client.delete(url, headers={"If-Match": '"1"'}).status_code == 412
    assert client.get(url).json()["name"] == "v2"
    assert client.delete(url, headers={"If-Match": '"2"'}).status_code == 204


def test_concurrent_updates_without_if_match_are_all_recorded(client):
    task = client.post("/api/v1/tasks", json={"name": "contended"}).json()
    url = f"/api/v1/tasks/{task['task_id']}"
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda i: client.put(url, json={"description": f"w{i}"}), range(16))
        )
    assert [a.status_code for a in answers] == [200] * 16
    assert sorted(a.json()["version"] for a in answers) == list(range(2, 18))
    assert client.get(url).json()["version"] == 17


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("{not json", 400, "MALFORMED_JSON"),
        ({"name": 12}, 422, "VALIDATION_ERROR"),
        ({"name": ""}, 422, "VALIDATION_ERROR"),
        ({"name": "x" * 201}, 422, "VALIDATION_ERROR"),
        ({"name": "ok", "tags": ["t"] * 21}, 422, "VALIDATION_ERROR"),
        ({"name": "ok", "priority": "critical"}, 422, "VALIDATION_ERROR"),
        ({"name": "ok", "due_date": "next tuesday"}, 422, "VALIDATION_ERROR"),
        ({"name": "ok", "due_date": "2025-12-31T23:59:59"}, 422, "VALIDATION_ERROR"),
        ({"name": "ok", "owner_id": str(uuid.uuid4())}, 422, "VALIDATION_ERROR"),
        ({"name": "ok", "status": "completed"}, 422, "VALIDATION_ERROR"),
        ([1, 2], 422, "VALIDATION_ERROR"),
    ],
)
def test_bad_input_gets_a_clear_4xx_and_writes_nothing(client, body, status, code):
    if isinstance(body, str):
        answer = client.post(
            "/api/v1/tasks", content=body, headers={"Content-Type": "application/json"}
        )
    else:
        answer = client.post("/api/v1/tasks", json=body)
    assert answer.status_code == status
    assert answer.json()["code"] == code and answer.json()["detail"]
    assert "Traceback" not in answer.text
    assert client.get("/api/v1/tasks").json()["total"] == 0


def test_a_bad_update_changes_nothing(client):
    task = client.post("/api/v1/tasks", json={"name": "keep", "priority": "low"}).json()
    url = f"/api/v1/tasks/{task['task_id']}"
    answer = client.put(url, json={"name": "changed", "status": "finished"})
    assert answer.status_code == 422
    assert client.get(url).json() | {} == client.get(url).json()
    assert (client.get(url).json()["name"], client.get(url).json()["version"]) == ("keep", 1)
    assert client.get("/api/v1/tasks/not-a-uuid").status_code == 404  # names no task


def forged(claims: dict, key: str | None = TEST_SECRET, algorithm: str = "HS256") -> str:
    base = {
        "sub": str(uuid.uuid4()),
        "iss": "ledgerflow",
        "typ": "access",
        "iat": datetime.now(UTC),
        "exp": datetime.now(UTC) + timedelta(minutes=5),
    }
    return jwt.encode(base | claims, key, algorithm=algorithm)


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer not-a-token",
        "not-a-token",
        forged({"exp": datetime.now(UTC) - timedelta(minutes=1)}),
        forged({}, key=None, algorithm="none"),
        forged({}, key="another-key-that-is-long-enough-32b"),
    ],
    ids=[
        "missing",
        "empty-bearer",
        "garbage-bearer",
        "garbage",
        "expired",
        "alg-none",
        "other-key",
    ],
)
def test_bad_credentials_get_401_and_no_data(base_url, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    for method, path in (
        ("GET", "/api/v1/tasks"),
        ("POST", "/api/v1/tasks"),
        ("GET", "/me"),
        ("GET", f"/api/v1/tasks/{uuid.uuid4()}"),
    ):
        answer = httpx.request(method, f"{base_url}{path}", headers=headers, json={"name": "x"})
        assert answer.status_code == 401, (method, path)
        body = answer.json()
        assert (body["detail"], body["code"]) == (
            "Authentication required or invalid token",
            "NOT_AUTHENTICATED",
        )
        assert set(body) == ERROR_FIELDS


def test_pages_have_total_limit_offset_and_has_more(client):
    for i in range(5):
        client.post("/api/v1/tasks", json={"name": f"t{i}"})
    first = client.get("/api/v1/tasks", params={"limit": 2}).json()
    assert (first["total"], first["limit"], first["offset"], first["has_more"]) == (5, 2, 0, True)
    assert [t["name"] for t in first["tasks"]] == ["t4", "t3"]
    last = client.get("/api/v1/tasks", params={"page": 3, "per_page": 2}).json()
    assert [t["name"] for t in last["tasks"]] == ["t0"] and not last["has_more"]
    beyond = client.get("/api/v1/tasks", params={"offset": 10}).json()
    assert beyond["tasks"] == [] and beyond["total"] == 5


def test_the_docs_describe_every_endpoint_with_its_errors(base_url):
    schema = httpx.get(f"{base_url}/openapi.json").json()
    paths = schema["paths"]
    expected = {
        ("post", "/register"),
        ("get", "/metrics"),
        ("get", "/ready"),
        ("post", "/login"),
        ("get", "/me"),
        ("get", "/health"),
        ("get", "/api/v1/tasks"),
        ("post", "/api/v1/tasks"),
        ("get", "/api/v1/tasks/{task_id}"),
        ("put", "/api/v1/tasks/{task_id}"),
        ("delete", "/api/v1/tasks/{task_id}"),
        ("get", "/api/v1/auth/me"),
        ("put", "/api/v1/auth/me"),
        ("post", "/api/v1/auth/password"),
        ("get", "/api/v1/users"),
        ("post", "/api/v1/users"),
        ("patch", "/api/v1/users/{user_id}"),
        ("get", "/api/v1/events"),
    }
    assert expected <= {(m, p) for p, ops in paths.items() for m in ops}
    for path, ops in paths.items():
        for method, op in ops.items():
            assert op.get("description") or op.get("summary"), (method, path)
            if path not in PUBLIC_PATHS:
                assert "401" in op["responses"], (method, path)
    assert "404" in paths["/api/v1/tasks/{task_id}"]["put"]["responses"]
    assert "412" in paths["/api/v1/tasks/{task_id}"]["put"]["responses"]
    for page in ("/docs", "/redoc"):
        assert httpx.get(f"{base_url}{page}").status_code == 200
