"""DevFlow's JavaScript example (003:L292-318), run by Node with axios against a real server:
one user token for everything, as the seed does, with real ids in place of its placeholders."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_tasks_api import account

EXAMPLE = Path(__file__).parent / "devflow_js"
NODE, NPM = shutil.which("node"), shutil.which("npm")


@pytest.mark.skipif(NODE is None or NPM is None, reason="Node.js and npm are not installed")
def test_devflows_javascript_example_runs_end_to_end(base_url, tmp_path):
    headers = account(base_url)
    task = httpx.post(
        f"{base_url}/api/v1/tasks",
        headers=headers,
        json={"name": "Fix login", "intent": "fix-bug", "repo": "https://github.com/user/repo"},
    ).json()
    work = tmp_path / "example"
    shutil.copytree(EXAMPLE, work)
    install = [str(NPM), "install", "--no-audit", "--no-fund", "--loglevel=error"]
    subprocess.run(install, cwd=work, check=True, timeout=300)
    env = {"PATH": str(Path(str(NODE)).parent), "BASE_URL": base_url}
    env["TOKEN"] = headers["Authorization"].removeprefix("Bearer ")
    ran = subprocess.run(
        [str(NODE), "example.mjs"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    out = json.loads(ran.stdout.strip().splitlines()[-1])
    assert out["registered"] == 201 and out["taskId"] == task["task_id"]
    shown = httpx.get(f"{base_url}/api/tasks/{task['task_id']}", headers=headers).json()
    assert (shown["status"], shown["agentId"]) == ("completed", out["agentId"])
    result = httpx.get(f"{base_url}/api/v1/tasks/{task['task_id']}", headers=headers).json()
    assert result["result"]["summary"] == "Task completed"
