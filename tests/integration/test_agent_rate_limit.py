"""An agent token spends a budget of its own (DevFlow's 1000 requests/minute per agent), of its
own size, apart from its owner's user budget (real Redis)."""

from fastapi.testclient import TestClient

from interfaces.api.app import create_app
from interfaces.bootstrap import build
from interfaces.settings import Settings
from tests.conftest import make_settings


def test_the_agent_budget_defaults_to_devflows_1000_a_minute():
    assert Settings.model_fields["agent_rate_limit"].default == "1000/minute"


def test_an_agent_token_has_its_own_budget_of_its_own_size(database_url, own_redis):
    settings = make_settings(
        database_url,
        redis_url=own_redis.url,
        rate_limit="3/minute",
        agent_rate_limit="5/minute",
        login_rate_limit="100/minute",
    )
    container = build(settings)
    container.start()
    try:
        with TestClient(create_app(container), client=("10.0.0.1", 5000)) as client:
            user = {"username": "owner_1", "password": "securepass123"}
            client.post("/register", json=user)
            # another address for the login: anonymous requests spend their address's budget
            login = TestClient(client.app, client=("10.0.0.2", 5000)).post("/login", json=user)
            owner = {"Authorization": f"Bearer {login.json()['token']}"}
            body = {"agent_key": "a1", "name": "one", "capabilities": ["fix-bug"]}
            created = client.post("/api/v1/agents", json=body, headers=owner)  # owner: 1 of 3
            assert created.status_code == 201, created.text
            agent_id = created.json()["agent"]["agent_id"]
            agent = {"Authorization": f"Bearer {created.json()['token']}"}
            polls = [
                client.get(f"/api/v1/agents/{agent_id}/commands", headers=agent) for _ in range(6)
            ]
            assert [p.status_code for p in polls] == [200] * 5 + [429]
            assert {p.headers["X-RateLimit-Limit"] for p in polls} == {"5"}
            mine = client.get("/api/v1/tasks", headers=owner)  # the owner's budget is untouched
            assert (mine.status_code, mine.headers["X-RateLimit-Limit"]) == (200, "3")
            assert mine.headers["X-RateLimit-Remaining"] == "1"
    finally:
        container.close()
