"""The task list, served from trusted rows, is what TaskListOut writes for the read model's rows."""

from fastapi.testclient import TestClient

from interfaces.api.app import create_app
from interfaces.api.schemas import TaskListOut, page_fields
from projections.task import TaskQueries

USER = {"username": "rowsuser", "password": "securepass123", "name": "R", "lastname": "U"}


def test_the_list_answer_is_the_model_of_the_read_model_rows(container):
    with TestClient(create_app(container)) as client:
        client.post("/register", json=USER)
        login = {"username": USER["username"], "password": USER["password"]}
        token = client.post("/login", json=login).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        bodies = [
            {"name": "plain"},
            {"name": "full", "description": "d", "priority": "high", "tags": ["a", "b"]},
            {"name": "due", "due_date": "2027-03-01T10:00:00+02:00"},
            {
                "name": "dispatched",
                "intent": "fix-bug",
                "repo": "org/r",
                "branch": "main",
                "context": {"k": [1, 2.5, None]},
                "instructions": "go",
                "max_attempts": 3,
            },
        ]
        ids = [
            client.post("/api/v1/tasks", json=b, headers=headers).json()["task_id"] for b in bodies
        ]
        client.post(f"/api/v1/tasks/{ids[0]}/start", headers=headers)
        answer = client.get("/api/v1/tasks?limit=3&offset=1", headers=headers)
        assert answer.status_code == 200
        me = client.get("/me", headers=headers).json()["user_id"]
    page = container.query(TaskQueries).list(me, limit=3, offset=1)
    assert len(page.tasks) == 3
    expected = TaskListOut.model_validate(
        {"tasks": page.tasks, **page_fields(page.total, 3, 1, len(page.tasks))}
    )
    assert answer.content == expected.model_dump_json().encode()
