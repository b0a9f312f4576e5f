"""What every command that opens the database shares: ``--data-dir``, the settings built from it
and one line on stderr saying which database the command uses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from psycopg.conninfo import conninfo_to_dict

from interfaces.bootstrap import Container, build
from interfaces.logs import configure_from
from interfaces.settings import Settings

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="LEDGERFLOW_DATA_DIR",
        help="data directory of the embedded PostgreSQL (used when LEDGERFLOW_DATABASE_URL is"
        " unset; default: the user data directory)",
        show_default=False,
    ),
]


def settings_for(data_dir: Path | None, **overrides: Any) -> Settings:
    """Settings from the environment, with ``--data-dir`` (when given) winning."""
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return Settings(**overrides)


def database_in_use(container: Container) -> str:
    """Which database a container uses, in words (never its password)."""
    if container.embedded is not None:
        return f"the embedded PostgreSQL in {container.embedded.pgdata}"
    params = conninfo_to_dict(container.database_url)
    where = params.get("host") or "localhost"
    if params.get("port"):
        where = f"{where}:{params['port']}"
    return f"PostgreSQL database {params.get('dbname') or 'postgres'} at {where}"


def built(settings: Settings) -> Container:
    """The container for a command, after saying on stderr which database it uses (its log
    records, if any, in the one log format)."""
    configure_from(settings, warn=False, quiet=True)
    container = build(settings)
    typer.echo(f"ledgerflow: using {database_in_use(container)}", err=True)
    return container


@contextmanager
def opened(data_dir: Path | None) -> Iterator[Container]:
    """A container for one command, closed (and the embedded server left) at the end."""
    container = built(settings_for(data_dir))
    try:
        yield container
    finally:
        container.close()
