"""/docs and /redoc load every script, style sheet and icon from the server itself, so they work
on a machine without internet access (issue 12, defect 9)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from interfaces.api.app import create_app
from interfaces.bootstrap import build
from tests.conftest import make_settings

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
IN_SCRIPT = re.compile(r"""(?:url|spec-url)\s*[:=]\s*["']([^"']+)["']""")


@pytest.fixture(scope="module")
def client(pg_server_url):
    from tests.conftest import fresh_database

    with fresh_database(pg_server_url) as url:
        built = build(make_settings(url))
        built.start()
        try:
            with TestClient(create_app(built)) as client:
                yield client
        finally:
            built.close()


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_nothing_from_another_host(client, page):
    answer = client.get(page)
    assert answer.status_code == 200
    html = answer.text
    assert "cdn." not in html and "googleapis" not in html
    assets = ASSET.findall(html)
    assert assets, "the page names its scripts"
    for asset in assets:
        assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
        fetched = client.get(asset)
        assert fetched.status_code == 200, asset
        assert len(fetched.content) > 1000, asset  # the real asset, not an error page


def test_swagger_ui_reads_this_server_s_openapi_document(client):
    html = client.get("/docs").text
    assert "/openapi.json" in html
    assert client.get("/openapi.json").json()["info"]["title"] == "Ledgerflow"
