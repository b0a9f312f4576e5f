"""The ``ledgerflow`` command: serve the API, run the worker, create the schema, manage users."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from application.accounts import AccountCommands
from interfaces.bootstrap import Container
from interfaces.cli import audit as cli_audit
from interfaces.cli import events as cli_events
from interfaces.cli import projections as cli_projections
from interfaces.cli import stats as cli_stats
from interfaces.cli.failure import run_explaining
from interfaces.cli.network import check_port_free
from interfaces.cli.options import DataDir, built, opened, settings_for
from interfaces.cli.signals import stop_like_ctrl_c
from interfaces.logs import configure_from
from interfaces.settings import Settings
from interfaces.version import VERSION

HEARTBEAT_EVERY_SECONDS = 5.0

cli = typer.Typer(
    help="Ledgerflow: an event-sourced backend for tasks, with an audited, replayable event log.",
    no_args_is_help=True,
)


def _show_version(shown: bool) -> None:
    if shown:
        typer.echo(f"ledgerflow {VERSION}")
        raise typer.Exit()


@cli.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """Ledgerflow: an event-sourced backend for tasks, with an audited, replayable event log."""


def _tune(settings: Settings) -> None:
    """Process-wide settings of the interpreter (see ``switch_interval_ms``)."""
    sys.setswitchinterval(settings.switch_interval_ms / 1000)


def _exit_cleanly(*_: object) -> None:
    raise SystemExit(0)


@cli.command()
def serve(
    data_dir: DataDir = None,
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="HTTP worker processes (this one then runs projections)")
    ] = 1,
) -> None:
    """Run the API. With no LEDGERFLOW_DATABASE_URL it starts its own PostgreSQL and projections."""
    import uvicorn

    from interfaces.api.app import create_app

    settings = settings_for(data_dir)
    check_port_free(host, port)
    _tune(settings)
    container = built(settings)
    configure_from(settings)  # after built()'s quiet set-up: serve and worker log at their level
    # uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown; exiting through SystemExit
    # lets the container close (and the embedded PostgreSQL stop cleanly) before the process ends.
    # SIGHUP (the terminal went away) is a SIGTERM here.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    signal.signal(signal.SIGHUP, lambda *_: signal.raise_signal(signal.SIGTERM))
    try:
        if container.embedded is not None:
            container.embedded.supervise()
        typer.echo(f"Ledgerflow listening on http://{host}:{port} (docs at /docs)", err=True)
        if workers == 1:
            container.start()
            uvicorn.run(create_app(container), host=host, port=port, **_uvicorn_options(settings))
        else:
            _serve_with_workers(container, host, port, workers)
    finally:
        container.close()


def _serve_with_workers(container: Container, host: str, port: int, workers: int) -> None:
    """Each worker is its own process (its own GIL) with its own container; this process keeps
    the embedded database (if any) and the projection runners."""
    import uvicorn

    os.environ["LEDGERFLOW_DATABASE_URL"] = container.database_url
    # Each worker writes its counters here and a scrape of any worker adds them all up; the
    # variable must be set before the workers import prometheus-client.
    own_dir = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        own_dir = tempfile.mkdtemp(prefix="ledgerflow-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = own_dir
    if container.settings.run_projections:
        container.start_projections()
    try:
        uvicorn.run(
            "interfaces.api.asgi:worker_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            **_uvicorn_options(container.settings),
        )
    finally:
        if own_dir is not None:
            shutil.rmtree(own_dir, ignore_errors=True)


def _uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options from the settings. uvicorn would trust X-Forwarded-For from 127.0.0.1
    by default; the app applies LEDGERFLOW_TRUSTED_PROXIES itself, so uvicorn trusts nobody."""
    return {
        "log_level": settings.log_level.lower(),
        "access_log": False,  # the app writes its own (interfaces/api/access_log.py)
        "log_config": None,  # uvicorn's loggers go through configure_from's handler
        "proxy_headers": False,
        "ws_max_size": settings.max_body_bytes,
        "timeout_graceful_shutdown": 5,
    }


@cli.command()
def worker(
    data_dir: DataDir = None,
    heartbeat: Annotated[
        Path | None,
        typer.Option(
            envvar="LEDGERFLOW_HEARTBEAT_FILE",
            help="touch this file every few seconds while the database answers (for a"
            " container health check: python -m interfaces.healthcheck --heartbeat FILE)",
        ),
    ] = None,
) -> None:
    """Run the projection runners (the read side) until stopped with SIGTERM or Ctrl-C."""
    settings = settings_for(data_dir)
    _tune(settings)
    container = built(settings)
    configure_from(settings)  # after built()'s quiet set-up: serve and worker log at their level
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    try:
        if container.embedded is not None:
            container.embedded.supervise()
        container.start_projections()
        typer.echo("Ledgerflow worker running projections", err=True)
        while True:
            if heartbeat is not None and _database_answers(container):
                heartbeat.touch()
            if stop.wait(HEARTBEAT_EVERY_SECONDS):
                break
    finally:
        container.close()


def _database_answers(container: Container) -> bool:
    try:
        with container.pool.connection(timeout=2) as conn:
            conn.execute("SELECT 1")
    except Exception:  # any failure: no heartbeat this time
        return False
    return True


@cli.command()
def migrate(data_dir: DataDir = None) -> None:
    """Create or upgrade the database schema (event store and read models), then exit.

    Every command creates a missing schema itself (under a lock, so processes starting together
    do not race); running this first, once, is the explicit step for deployments.
    """
    with opened(data_dir) as container:
        container.ensure_read_models()
    typer.echo("schema up to date")


users = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
cli.add_typer(users, name="users")


@users.command("create")
def create_user(
    username: Annotated[str, typer.Argument(help="the new user's username")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="LEDGERFLOW_PASSWORD",
            help="the password (asked for when not given; or LEDGERFLOW_PASSWORD)",
        ),
    ],
    admin: Annotated[bool, typer.Option("--admin", help="make the user an admin")] = False,
    role: Annotated[str, typer.Option(help="admin, member or viewer")] = "member",
    name: str = "",
    lastname: str = "",
    data_dir: DataDir = None,
) -> None:
    """Create a user from the command line (the operator's way to make the first admin)."""
    from application.context import CommandContext

    with opened(data_dir) as container:
        written = container.ledger[AccountCommands].register_user(
            CommandContext.system("cli"),
            username,
            password,
            name,
            lastname,
            "admin" if admin else role,
        )
    typer.echo(
        f"created {written.aggregate.username} ({written.aggregate.role})"
        f" user_id={written.aggregate.id}"
    )


cli_audit.register(cli)
cli.add_typer(cli_events.events, name="events")
cli.add_typer(cli_projections.projections, name="projections")
cli.command("stats")(cli_stats.stats)
cli.command("top")(cli_stats.top)


def main() -> None:
    """Entry point of the ``ledgerflow`` console script."""
    stop_like_ctrl_c()
    run_explaining(cli)


if __name__ == "__main__":
    main()
