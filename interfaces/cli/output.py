"""Output for the operator commands: rich tables and colour on a terminal, plain text otherwise."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer


def terminal() -> bool:
    """True when stdout is a terminal (then output may be coloured)."""
    return sys.stdout.isatty()


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print rows under headers: a rich table on a terminal, tab-separated lines otherwise."""
    if terminal():
        from rich.console import Console
        from rich.table import Table

        shown = Table(title=title)
        for header in headers:
            shown.add_column(header)
        for row in rows:
            shown.add_row(*(str(v) for v in row))
        Console().print(shown)
        return
    typer.echo("\t".join(headers))
    for row in rows:
        typer.echo("\t".join("" if v is None else str(v) for v in row))


def say(message: str, *, error: bool = False, style: str | None = None) -> None:
    """One line to stdout (or stderr), coloured on a terminal."""
    if terminal() and style:
        typer.secho(message, fg=style, err=error)
    else:
        typer.echo(message, err=error)
