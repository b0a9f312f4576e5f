"""AstraFlow reads ``page`` from a list answer (001:L62): every offset-paged list under /api/v1,
canonical or a seed's alias, answers ``page``, ``per_page`` and ``pages`` beside ``total``,
``limit`` and ``offset`` (issue 13)."""

from __future__ import annotations

import httpx

from tests.e2e.test_tasks_api import account

PAGE_FIELDS = {"limit", "offset", "has_more", "page", "per_page"}
COUNTED = {"total", "pages"}  # every list but the audit log, which does not count its events


def test_every_offset_paged_list_under_api_v1_answers_its_page(base_url):
    admin = account(base_url)  # the module's server is new: its first user is an admin
    schema = httpx.get(f"{base_url}/openapi.json").json()
    lists = [
        path
        for path, operations in schema["paths"].items()
        if path.startswith("/api/v1/")
        and "{" not in path
        and "offset" in {p["name"] for p in operations.get("get", {}).get("parameters", [])}
    ]
    assert len(lists) >= 15
    for path in lists:
        answer = httpx.get(
            f"{base_url}{path}", params={"limit": 2, "offset": 2}, headers=admin, timeout=30
        )
        assert answer.status_code == 200, (path, answer.text)
        body = answer.json()
        assert set(body) >= PAGE_FIELDS, (path, sorted(body))
        assert (body["page"], body["per_page"]) == (2, 2), path
