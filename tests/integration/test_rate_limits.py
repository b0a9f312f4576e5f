"""Rate limits on real Redis: headers, 429, per principal, shared by instances, login throttling."""

from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from interfaces.api.app import create_app
from interfaces.bootstrap import build
from tests.conftest import make_settings

JOHN = {"username": "johndoe", "password": "securepass123"}


@contextmanager
def instances(database_url, redis_url, **limits):
    """Two API instances sharing one database and one Redis (the test's own: no other test's
    counters, nor another run's FLUSHDB on a shared server, can reach its limits)."""
    settings = make_settings(database_url, redis_url=redis_url, **limits)
    first, second = build(settings), build(settings.model_copy(update={"run_projections": False}))
    first.start()
    second.start()
    try:
        with TestClient(create_app(first)) as a, TestClient(create_app(second)) as b:
            yield a, b
    finally:
        second.close()
        first.close()


@pytest.fixture
def limited(database_url, own_redis):
    """Limited to 5 requests a minute per principal."""
    with instances(database_url, own_redis.url, rate_limit="5/minute") as clients:
        yield clients


@pytest.fixture
def login_limited(database_url, own_redis):
    """Logins limited to 3 a minute per username and 5 per address."""
    limits = {"login_rate_limit": "3/minute", "login_address_rate_limit": "5/minute"}
    with instances(database_url, own_redis.url, **limits) as clients:
        yield clients


def token(client, username="johndoe"):
    client.post("/register", json={"username": username, "password": "securepass123"})
    answer = client.post("/login", json={"username": username, "password": "securepass123"})
    return {"Authorization": answer.json()["token"]}


def test_every_response_carries_the_rate_limit_headers_and_the_limit_gives_429(limited):
    a, _ = limited
    headers = token(a)
    answers = [a.get("/api/v1/tasks", headers=headers) for _ in range(6)]
    assert [r.status_code for r in answers] == [200] * 5 + [429]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers[:5]] == ["4", "3", "2", "1", "0"]
    assert all(
        r.headers["X-RateLimit-Limit"] == "5" and r.headers["X-RateLimit-Reset"] for r in answers
    )
    refused = answers[-1]
    assert refused.json()["code"] == "RATE_LIMITED"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_the_limit_is_per_principal(limited):
    a, _ = limited
    first, second = token(a, "first_user"), token(a, "second_user")
    for _ in range(5):
        a.get("/api/v1/tasks", headers=first)
    assert a.get("/api/v1/tasks", headers=first).status_code == 429
    assert a.get("/api/v1/tasks", headers=second).status_code == 200


def test_instances_share_one_budget_through_redis(limited):
    a, b = limited
    headers = token(a)
    statuses = [
        (a if i % 2 else b).get("/api/v1/tasks", headers=headers).status_code for i in range(6)
    ]
    assert statuses == [200] * 5 + [429]


def test_login_attempts_are_limited_per_username_even_with_the_right_password(login_limited):
    a, _ = login_limited
    a.post("/register", json={"username": "victim", "password": "securepass123"})
    wrong = [
        a.post("/login", json={"username": "victim", "password": "guess"}).status_code
        for _ in range(3)
    ]
    assert wrong == [401, 401, 401]
    blocked = a.post("/login", json={"username": "victim", "password": "securepass123"})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    other = a.post("/login", json={"username": "bystander", "password": "whatever"})
    assert other.status_code == 401  # another username still gets an answer


def test_login_attempts_are_limited_per_client_address(login_limited):
    a, _ = login_limited
    codes = [
        a.post("/login", json={"username": f"user{i}", "password": "x"}).status_code
        for i in range(6)
    ]
    assert codes == [401] * 5 + [429]


def test_all_api_keys_of_a_user_spend_the_users_one_budget(limited):
    a, _ = limited
    headers = token(a, "keyholder")
    keys = [
        a.post(
            "/api/v1/api-keys", json={"name": f"k{i}", "scopes": ["tasks:read"]}, headers=headers
        ).json()["key"]
        for i in range(2)
    ]  # 2 of the 5 requests of the minute
    by_key = [{"Authorization": f"Bearer {keys[i % 2]}"} for i in range(4)]
    statuses = [a.get("/api/v1/tasks", headers=h).status_code for h in by_key]
    assert statuses == [200, 200, 200, 429]
    assert a.get("/api/v1/tasks", headers=headers).status_code == 429  # the token's too


@pytest.fixture
def behind_proxy(database_url, own_redis):
    """Logins limited to 3 a minute per username and address, 10 per username; the test
    client's address is a trusted proxy, so X-Forwarded-For names the client."""
    with instances(
        database_url,
        own_redis.url,  # counters of this test alone: another test's logins must not count
        login_rate_limit="3/minute",
        login_username_rate_limit="10/minute",
        trusted_proxies=["testclient"],
    ) as clients:
        yield clients


def login_from(client, address, password="guess", username="victim"):
    return client.post(
        "/login",
        json={"username": username, "password": password},
        headers={"X-Forwarded-For": address},
    ).status_code


def test_an_attackers_address_is_slowed_without_locking_the_real_user_out(behind_proxy):
    a, _ = behind_proxy
    a.post("/register", json={"username": "victim", "password": "securepass123"})
    attacker = [login_from(a, "203.0.113.9") for _ in range(4)]
    assert attacker == [401, 401, 401, 429]
    assert login_from(a, "198.51.100.7", "securepass123") == 200


def test_a_guess_spread_over_many_addresses_meets_the_per_username_ceiling(behind_proxy):
    a, _ = behind_proxy
    a.post("/register", json={"username": "victim", "password": "securepass123"})
    spread = [login_from(a, f"203.0.113.{i}") for i in range(11)]
    assert spread == [401] * 10 + [429]
    assert login_from(a, "203.0.113.200", username="bystander") == 401


def test_health_and_docs_are_not_limited(limited):
    a, _ = limited
    assert all(a.get("/health").status_code == 200 for _ in range(8))


def test_requests_are_served_when_the_limiter_store_is_down(database_url):
    settings = make_settings(database_url, redis_url="redis://127.0.0.1:1/0", rate_limit="1/minute")
    built = build(settings)
    built.start()
    try:
        with TestClient(create_app(built)) as client:
            headers = token(client)
            assert [client.get("/api/v1/tasks", headers=headers).status_code for _ in range(3)] == [
                200,
                200,
                200,
            ]
    finally:
        built.close()


def key_with_limit(client, headers, rate_limit, name="limited"):
    body = {"name": name, "scopes": ["tasks:read"], "rate_limit": rate_limit}
    return client.post("/api/v1/api-keys", json=body, headers=headers)


def test_a_key_with_its_own_limit_is_held_below_its_users_budget(limited):
    a, _ = limited
    headers = token(a, "scripter")
    created = key_with_limit(a, headers, "2 per minute")  # 1 of the user's 5
    assert created.status_code == 201 and created.json()["rate_limit"] == "2/minute"
    by_key = {"Authorization": f"Bearer {created.json()['key']}"}
    answers = [a.get("/api/v1/tasks", headers=by_key) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert [r.headers["X-RateLimit-Limit"] for r in answers] == ["2", "2", "2"]
    assert answers[-1].json()["code"] == "RATE_LIMITED"
    # The refused request spent nothing of the user's budget: 3 of 5 are spent.
    assert [a.get("/api/v1/tasks", headers=headers).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]


def test_a_keys_own_limit_is_shared_by_the_instances_through_redis(limited):
    a, b = limited
    headers = token(a, "scripter")
    by_key = {"Authorization": f"Bearer {key_with_limit(a, headers, '3/minute').json()['key']}"}
    statuses = [
        (a if i % 2 else b).get("/api/v1/tasks", headers=by_key).status_code for i in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


def test_a_key_with_its_own_limit_still_spends_its_users_budget(limited):
    a, _ = limited
    headers = token(a, "scripter")
    by_key = {"Authorization": f"Bearer {key_with_limit(a, headers, '4/minute').json()['key']}"}
    for _ in range(4):  # with the creation, the user's 5 are spent
        assert a.get("/api/v1/tasks", headers=headers).status_code == 200
    refused = a.get("/api/v1/tasks", headers=by_key)
    assert refused.status_code == 429 and refused.headers["X-RateLimit-Limit"] == "5"


@pytest.mark.parametrize("rate_limit", ["6/minute", "1/second", "ten/minute", "0/minute", ""])
def test_a_key_limit_above_the_users_or_malformed_is_refused(limited, rate_limit):
    a, _ = limited
    headers = token(a, "scripter")
    answer = key_with_limit(a, headers, rate_limit)
    assert answer.status_code == 422
    assert "rate_limit" in answer.text
    assert a.get("/api/v1/api-keys", headers=headers).json()["api_keys"] == []


def test_a_keys_own_limit_is_listed(limited):
    a, _ = limited
    headers = token(a, "scripter")
    key_with_limit(a, headers, "100/day", name="daily")
    a.post("/api/v1/api-keys", json={"name": "plain", "scopes": ["tasks:read"]}, headers=headers)
    listed = a.get("/api/v1/api-keys", headers=headers).json()["api_keys"]
    assert {k["name"]: k["rate_limit"] for k in listed} == {"daily": "100/day", "plain": None}
