"""Signed-in routes state both sign-in schemes in OpenAPI; public routes state none."""

from interfaces.api.app import create_app

BOTH = [{"APIKeyHeader": []}, {"OAuth2PasswordBearer": []}]


def test_every_signed_in_operation_offers_the_header_and_the_password_flow(stopped):
    schema = create_app(stopped).openapi()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["APIKeyHeader"] == {
        "type": "apiKey",
        "description": "`Bearer <token>` or the bare token (Behflow's examples send it bare)",
        "in": "header",
        "name": "Authorization",
    }
    assert schemes["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"] == "/oauth/token"
    paths = schema["paths"]
    for path, method in [
        ("/api/v1/tasks", "get"),
        ("/api/v1/tasks", "post"),
        ("/api/v1/tasks/{task_id}", "patch"),
        ("/me", "get"),
        ("/api/v1/webhooks", "post"),
        ("/api/v1/runs", "get"),
    ]:
        assert paths[path][method]["security"] == BOTH, (method, path)
    for path, method in [("/login", "post"), ("/register", "post"), ("/health", "get")]:
        assert "security" not in paths[path][method], (method, path)
    signed_in = [op for ops in paths.values() for op in ops.values() if "security" in op]
    assert len(signed_in) > 100
