"""The request guard: body size, media type, duplicate keys and unstorable characters (issue 11)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from interfaces.api.app import create_app
from interfaces.bootstrap import build
from tests.conftest import make_settings

PASSWORD = "securepass123"


@pytest.fixture
def client(database_url):
    built = build(make_settings(database_url, max_body_bytes=4096))
    built.start()
    try:
        with TestClient(create_app(built)) as client:
            yield client
    finally:
        built.close()


def signed_in(client, username="johndoe"):
    client.post("/register", json={"username": username, "password": PASSWORD})
    answer = client.post("/login", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def raw_json(client, method, path, text, headers):
    return client.request(
        method, path, content=text.encode(), headers={**headers, "Content-Type": "application/json"}
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/tasks", '{"name": "a\\u0000b"}'),
        ("POST", "/api/v1/tasks", '{"name": "ok", "tags": ["x\\u0000"]}'),
        ("POST", "/api/v1/tasks", '{"name": "lone \\ud800 surrogate"}'),
        ("POST", "/api/v1/tasks", '{"name": "bell \\u0007"}'),
        ("POST", "/api/v1/tasks", '{"name": "ok", "n\\u0000me": "x"}'),
        ("PUT", "/api/v1/auth/me", '{"name": "a\\u0000b"}'),
        ("POST", "/api/v1/api-keys", '{"name": "a\\u0000", "scopes": ["tasks:read"]}'),
    ],
)
def test_a_string_that_postgres_cannot_store_is_refused_in_any_field(client, method, path, body):
    headers = signed_in(client)
    answer = raw_json(client, method, path, body, headers)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["type"] == "forbidden_character"


def test_registration_with_a_nul_in_the_name_is_refused_and_the_read_models_go_on(client):
    answer = raw_json(
        client,
        "POST",
        "/register",
        '{"username": "nul_user", "password": "x1234567", "name": "a\\u0000"}',
        {},
    )
    assert answer.status_code == 422
    headers = signed_in(client)
    created = client.post("/api/v1/tasks", json={"name": "after"}, headers=headers)
    assert created.status_code == 201
    listed = client.get("/api/v1/tasks", headers=headers)  # waits for the tasks read model
    assert [t["name"] for t in listed.json()["tasks"]] == ["after"]


def test_newlines_tabs_and_a_valid_surrogate_pair_are_kept(client):
    headers = signed_in(client)
    body = '{"name": "emoji \\ud83d\\ude00", "description": "line\\none\\tand\\r\\ntwo"}'
    answer = raw_json(client, "POST", "/api/v1/tasks", body, headers)
    assert answer.status_code == 201
    assert answer.json()["name"] == "emoji \U0001f600"
    assert answer.json()["description"] == "line\none\tand\r\ntwo"


def test_a_duplicate_key_is_refused(client):
    headers = signed_in(client)
    answer = raw_json(client, "POST", "/api/v1/tasks", '{"name": "a", "name": "b"}', headers)
    assert answer.status_code == 422
    assert answer.json()["errors"][0] == {
        "loc": ["body", "name"],
        "msg": "the key appears more than once",
        "type": "duplicate_key",
    }


def test_a_body_nested_deeper_than_the_parser_goes_is_malformed_not_a_server_error(client):
    headers = signed_in(client)
    answer = raw_json(client, "POST", "/api/v1/tasks", "[" * 2000 + "]" * 2000, headers)
    assert answer.status_code == 400
    assert answer.json()["code"] == "MALFORMED_JSON"


def test_a_json_route_refuses_another_media_type_with_415(client):
    headers = signed_in(client)
    answer = client.post(
        "/api/v1/tasks",
        content=json.dumps({"name": "x"}),
        headers={**headers, "Content-Type": "text/plain"},
    )
    assert answer.status_code == 415
    assert answer.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"
    form = client.post("/login", data={"username": "johndoe", "password": PASSWORD})
    assert form.status_code == 415


def test_the_form_route_refuses_json_and_nul_characters(client):
    signed_in(client)
    as_json = client.post("/oauth/token", json={"grant_type": "password"})
    assert as_json.status_code == 415
    nul = client.post(
        "/oauth/token",
        content=b"grant_type=password&username=john%00doe&password=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert nul.status_code == 422
    good = client.post(
        "/oauth/token", data={"grant_type": "password", "username": "johndoe", "password": PASSWORD}
    )
    assert good.status_code == 200


def test_a_body_over_the_limit_is_refused_with_413_before_parsing(client):
    big = json.dumps({"name": "x", "description": "y" * 5000})
    declared = client.post("/register", content=big, headers={"Content-Type": "application/json"})
    assert declared.status_code == 413
    assert declared.json()["code"] == "TOO_LARGE"

    def chunks():
        yield b'{"name": "x", "description": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}'

    chunked = client.post(
        "/register", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert chunked.status_code == 413
    assert client.get("/health").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/events?types=%00",
        "/api/v1/audit?actor=%00",
        "/api/v1/audit?correlation_id=a%00b",
        "/api/v1/audit?types=task.%00",
        "/api/v1/exports/audit?actor=%00",
        "/api/v1/tasks?x%00=1",
    ],
)
def test_a_nul_in_a_query_parameter_answers_422(client, path):
    headers = signed_in(client)  # the first user: an admin
    answer = client.get(path, headers=headers)
    assert answer.status_code == 422


def test_an_out_of_range_integer_query_parameter_answers_422(client):
    headers = signed_in(client)
    hook = client.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/h", "events": ["*"]}, headers=headers
    ).json()["webhook_id"]
    pages = ["offset=9223372036854775808", "page=9223372036854775807", "limit=100000", "offset=-1"]
    lists = ["/api/v1/tasks", "/api/v1/users", "/api/v1/webhooks"]
    asked = [f"{path}?{query}" for path in lists for query in pages]
    asked += [f"/api/v1/webhooks/{hook}/deliveries?{query}" for query in pages]
    asked += ["/api/v1/audit?after=9223372036854775808", "/api/v1/audit?limit=100000"]
    asked += ["/api/v1/tasks?min_position=9223372036854775808"]
    answers = {path: client.get(path, headers=headers).status_code for path in asked}
    assert answers == dict.fromkeys(asked, 422)


@pytest.mark.parametrize(
    "query",
    [
        "after=9223372036854775808",
        "min_position=9223372036854775808",
        "types=" + "*" * 20 + "Z" * 100,
        "types=task created",
        "types=" + ",".join(f"t{i}.*" for i in range(51)),
    ],
)
def test_the_events_feed_refuses_bad_positions_and_patterns(client, query):
    headers = signed_in(client)
    assert client.get(f"/api/v1/events?{query}", headers=headers).status_code == 422


def test_a_version_in_if_match_with_non_ascii_digits_is_stale_not_a_server_error(client):
    headers = signed_in(client)
    task = client.post("/api/v1/tasks", json={"name": "t"}, headers=headers).json()
    answer = client.put(
        f"/api/v1/tasks/{task['task_id']}",
        json={"name": "u"},
        headers={**headers, "If-Match": b'"\xb2"'},  # latin-1 for "²"
    )
    assert answer.status_code == 412


def test_an_unexpected_error_answers_500_without_raising_to_the_server(client):
    # The server closes the connection of an application that raises; TestClient re-raises it.
    @client.app.get("/boom-for-this-test")
    def boom() -> None:
        raise RuntimeError("a bug")

    answer = client.get("/boom-for-this-test")
    assert answer.status_code == 500
    expected = {"detail": "Internal server error", "code": "INTERNAL_ERROR"}
    assert expected.items() <= answer.json().items()  # beside the seeds' fields
    assert answer.headers["x-request-id"]


def test_every_integer_parameter_of_the_schema_is_bounded(client):
    schema = client.app.openapi()
    integers = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                given = parameter["schema"]
                options = given.get("anyOf", [given])
                for option in (o for o in options if o.get("type") == "integer"):
                    integers.append((method, path, parameter["name"], option.get("maximum")))
    assert len(integers) >= 20
    assert [i for i in integers if i[3] is None] == []


def test_a_request_id_with_invisible_characters_is_replaced_not_stored(client):
    headers = signed_in(client)
    given = client.get("/health", headers={"X-Request-ID": "trace-1"})
    assert given.headers["x-request-id"] == "trace-1"
    odd = client.post(
        "/api/v1/tasks",
        json={"name": "t"},
        headers={**headers, "X-Request-ID": b"a\x01b c"},
    )
    assert odd.status_code == 201
    assert odd.headers["x-request-id"] not in ("a\x01b c", "")
    assert odd.headers["x-request-id"].isprintable()


def test_the_schema_states_which_characters_a_request_string_may_hold(client):
    schema = client.app.openapi()
    task_in = schema["components"]["schemas"]["TaskIn"]["properties"]
    assert task_in["name"]["pattern"] == task_in["tags"]["items"]["pattern"]
    assert "\\u0000" in task_in["name"]["pattern"]
    assert "pattern" not in schema["components"]["schemas"]["TaskOut"]["properties"]["name"]
    audit = schema["paths"]["/api/v1/audit"]["get"]["parameters"]
    actor = next(p for p in audit if p["name"] == "actor")["schema"]["anyOf"][0]
    assert actor["pattern"] == task_in["name"]["pattern"]


def test_a_time_zone_offset_postgres_cannot_store_is_kept_in_utc_and_the_read_model_goes_on(client):
    headers = signed_in(client)
    # Python accepts offsets up to ±23:59, PostgreSQL's timestamptz ±15:59: this one stopped
    # the tasks read model for good (found by schemathesis).
    odd = client.post(
        "/api/v1/tasks",
        json={"name": "t", "due_date": "1068-08-18T04:30:55-19:20"},
        headers=headers,
    )
    assert odd.status_code == 201
    assert odd.json()["due_date"] == "1068-08-18T23:50:55Z"
    listed = client.get("/api/v1/tasks", headers=headers)
    assert listed.status_code == 200
    assert listed.json()["tasks"][0]["due_date"] == "1068-08-18T23:50:55Z"
    too_late = client.post(
        "/api/v1/tasks",
        json={"name": "t", "due_date": "9999-12-31T23:00:00-05:00"},
        headers=headers,
    )
    assert too_late.status_code == 422
    task = odd.json()["task_id"]
    hook = client.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/h", "events": ["*"]}, headers=headers
    ).json()["webhook_id"]
    recovered = client.post(
        f"/api/v1/webhooks/{hook}/recover?since=2026-01-01T00:00:00-19:20", headers=headers
    )
    assert recovered.status_code == 202
    for path in (
        "/api/v1/audit?since=2026-01-01T00:00:00-19:20&until=2026-01-01T00:00:00%2B23:59",
        "/api/v1/exports/audit?since=0001-01-01T00:00:00",
        f"/api/v1/tasks/{task}?as_of=2999-01-01T00:00:00-19:20",
    ):
        assert client.get(path, headers=headers).status_code == 200, path
    assert (
        client.get("/api/v1/audit?since=0001-01-01T00:00:00%2B01:00", headers=headers).status_code
        == 422
    )
