"""The container health checks (interfaces/healthcheck.py)."""

import os
import socket
import time

from interfaces.healthcheck import HEARTBEAT_MAX_AGE_SECONDS, main


def test_a_fresh_heartbeat_is_healthy_and_a_stale_or_missing_one_is_not(tmp_path):
    beat = tmp_path / "worker.heartbeat"
    assert main(["--heartbeat", str(beat)]) == 1
    beat.touch()
    assert main(["--heartbeat", str(beat)]) == 0
    old = time.time() - HEARTBEAT_MAX_AGE_SECONDS - 5
    os.utime(beat, (old, old))
    assert main(["--heartbeat", str(beat)]) == 1


def test_an_api_that_does_not_answer_is_unhealthy(capsys):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    assert main([f"http://127.0.0.1:{port}/health"]) == 1
    assert capsys.readouterr().err.startswith("unhealthy: ")
