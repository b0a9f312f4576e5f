"""Ordinary mistakes end a command with one sentence on stderr, not a traceback.

Exit status 2 for usage errors (a bad option, setting or argument), 1 for refusals of the
domain (the username is taken) and for a database that cannot be reached.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import typer
from eventsourcing import persistence
from pydantic import ValidationError

from application.error import WeakPassword
from domain.error import DomainError, InvalidValue
from interfaces.adapters.embedded_postgres import DataDirUnusable, EmbeddedNotInstalled

USAGE = 2
REFUSED = 1


class CannotListen(Exception):
    """``serve`` cannot listen on the address it was given (checked before it starts)."""

    def __init__(self, host: str, port: int, reason: str | None = None) -> None:
        if reason is None:
            reason = (
                f"port {port} on {host} is already in use (by another Ledgerflow or another"
                " program); stop that program or choose another port with --port"
            )
        else:
            reason = f"cannot listen on {host}:{port}: {reason}; check --host and --port"
        super().__init__(reason)


def settings_sentence(error: ValidationError) -> str:
    """The first problem of invalid settings, naming the environment variable."""
    first = error.errors()[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["loc"]:
        return f"LEDGERFLOW_{str(first['loc'][0]).upper()}: {message}"
    return message


def explained(error: Exception) -> tuple[str, int] | None:
    """The sentence and exit status for an ordinary mistake; None for a real failure."""
    if isinstance(error, ValidationError) and error.title == "Settings":
        return f"invalid configuration: {settings_sentence(error)}", USAGE
    if isinstance(error, (DataDirUnusable, EmbeddedNotInstalled, CannotListen)):
        return str(error), USAGE
    if isinstance(error, (WeakPassword, InvalidValue)):
        return str(error), USAGE
    if isinstance(error, DomainError):
        return str(error), REFUSED
    if isinstance(error, (psycopg.OperationalError, persistence.OperationalError)):
        reason = str(error).strip().splitlines()[0] if str(error).strip() else "no answer"
        return f"cannot reach the database: {reason}", REFUSED
    return None


def run_explaining(command: Callable[[], object]) -> None:
    """Run the CLI; an ordinary mistake prints one sentence and exits non-zero."""
    try:
        command()
    except Exception as error:
        verdict = explained(error)
        if verdict is None:
            raise
        sentence, status = verdict
        typer.echo(f"ledgerflow: error: {sentence}", err=True)
        raise SystemExit(status) from None
