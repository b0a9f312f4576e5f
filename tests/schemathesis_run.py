"""Run schemathesis over the whole OpenAPI of a fresh server: ``make fuzz-api`` (issue 11).

Starts ``ledgerflow serve`` on a new database (the PostgreSQL of ``LEDGERFLOW_TEST_DATABASE_URL``,
else a throwaway embedded one), signs in an admin, and runs every schemathesis phase (examples,
coverage, fuzzing, stateful) with the checks that must hold: no server error, every status code
and content type documented, every body and header as the schema says. Logout would end the run's
own session, so it runs last, on its own. Exit status: schemathesis's (the first failure).

    python -m tests.schemathesis_run [--max-examples N] [extra schemathesis options]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from tests.e2e.conftest import server_of_its_own

CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    )
)
PASSWORD = "correct-horse-9"
LOGOUT = "/api/v1/auth/logout"


def admin_token(base_url: str) -> str:
    """The first user of the server is its admin: the run can reach every route."""
    body = {"username": "schemathesis", "password": PASSWORD}
    httpx.post(f"{base_url}/register", json=body).raise_for_status()
    answer = httpx.post(f"{base_url}/login", json=body)
    answer.raise_for_status()
    return str(answer.json()["token"])


def run(server_url: str, work: Path, options: list[str]) -> int:
    with server_of_its_own(server_url, work / "server.log") as server:
        command = [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{server.base_url}/openapi.json",
            "--checks",
            CHECKS,
            "--header",
            f"Authorization: Bearer {admin_token(server.base_url)}",
            "--workers",
            "1",
            "--suppress-health-check",
            "all",
            *options,
        ]
        everything = subprocess.run([*command, "--exclude-path", LOGOUT], check=False)
        logout = subprocess.run([*command, "--include-path", LOGOUT], check=False)
    print(f"server log: {work / 'server.log'}", file=sys.stderr)
    return everything.returncode or logout.returncode


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="ledgerflow-schemathesis-"))
    given = os.environ.get("LEDGERFLOW_TEST_DATABASE_URL")
    if given:
        return run(given, work, sys.argv[1:])
    from interfaces.adapters.embedded_postgres import EmbeddedPostgres

    postgres = EmbeddedPostgres(work / "pg")
    try:
        return run(postgres.start(), work, sys.argv[1:])
    finally:
        postgres.stop()
        shutil.rmtree(work / "pg", ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
