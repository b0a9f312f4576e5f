"""The HTTP metrics middleware labels requests by route template, status and a known method."""

from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from interfaces.api.metrics import HttpMetrics


def app() -> FastAPI:
    built = FastAPI()

    @built.get("/things/{thing_id}")
    def thing(thing_id: int) -> dict[str, int]:
        return {"thing_id": thing_id}

    built.add_middleware(HttpMetrics)
    return built


def count(method: str, route: str, status: str) -> float:
    labels = {"method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("http_requests_total", labels) or 0.0


def test_requests_are_counted_by_route_template_not_by_path():
    before = count("GET", "/things/{thing_id}", "200")
    client = TestClient(app())
    for n in range(3):
        assert client.get(f"/things/{n}").status_code == 200
    assert count("GET", "/things/{thing_id}", "200") == before + 3


def test_unmatched_paths_and_unknown_methods_share_one_label_each():
    client = TestClient(app())
    unmatched = count("GET", "<unmatched>", "404")
    other = count("OTHER", "<unmatched>", "404")
    for n in range(3):
        assert client.get(f"/nowhere/{n}").status_code == 404
        client.request(f"BREW{n}", f"/nowhere/{n}")
    assert count("GET", "<unmatched>", "404") == unmatched + 3
    assert count("OTHER", "<unmatched>", "404") == other + 3
