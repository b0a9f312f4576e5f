"""Operator commands over the event log: ``verify``, ``audit`` and ``state``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import psycopg
import typer

from interfaces.adapters.event_chain import ChainSealer, verify
from interfaces.bootstrap import Container, conninfo
from interfaces.cli.options import DataDir, opened
from interfaces.cli.output import say, table
from projections.envelope import envelope, jsonable

# Never printed, as in the public envelope: sealed credentials, hashes, secrets, tokens.
SECRET_WORDS = ("credential", "password", "secret", "hash", "token")


@contextmanager
def operator(data_dir: Path | None) -> Iterator[tuple[Container, psycopg.Connection[Any]]]:
    """A container built from the environment and one autocommit connection to its database."""
    with (
        opened(data_dir) as container,
        psycopg.connect(conninfo(container.database_url), autocommit=True) as conn,
    ):
        container.ensure_read_models()
        yield container, conn


def events_table(container: Container) -> str:
    """The name of the events table."""
    return str(container.ledger.recorder.events_table_name)  # type: ignore[attr-defined]


def verify_command(
    seal: Annotated[bool, typer.Option(help="seal unsealed events first")] = True,
    data_dir: DataDir = None,
) -> None:
    """Check the event log against its hash chain; exit 1 at the first bad position."""
    with operator(data_dir) as (container, conn):
        if seal:
            sealer = next(r for r in container.runners if isinstance(r, ChainSealer))
            sealer.catch_up(conn)
        verdict = verify(conn, events_table(container))
    if not verdict.ok:
        say(f"FAILED at position {verdict.first_bad}: {verdict.reason}", style="red")
        raise typer.Exit(1)
    say(
        f"ok: {verdict.checked} events verified up to position {verdict.sealed_head};"
        f" {verdict.unsealed} unsealed; head hash {verdict.head_hash}",
        style="green",
    )


def audit_command(
    aggregate_id: Annotated[UUID, typer.Argument(help="a task or user id")],
    data_dir: DataDir = None,
) -> None:
    """Every event of one aggregate, oldest first: position, time, type, actor and data."""
    with operator(data_dir) as (container, _):
        events = list(container.ledger.events.get(aggregate_id))
        positions = container.ledger.recorder.positions_of(aggregate_id)  # type: ignore[attr-defined]
    if not events:
        say(f"no events for {aggregate_id}", error=True)
        raise typer.Exit(1)
    rows = []
    for event in events:
        e = envelope(event, positions.get(event.originator_version))
        data = json.dumps(e["data"], sort_keys=True)
        rows.append((e["position"], e["version"], e["occurred_at"], e["type"], e["actor"], data))
    table(f"audit {aggregate_id}", ("position", "version", "at", "type", "actor", "data"), rows)


def state_command(
    aggregate_id: Annotated[UUID, typer.Argument(help="a task or user id")],
    as_of: Annotated[datetime | None, typer.Option("--as-of", help="ISO time, with zone")] = None,
    version: Annotated[int | None, typer.Option(min=1)] = None,
    data_dir: DataDir = None,
) -> None:
    """The state of an aggregate rebuilt from its events, now or at an earlier time or version."""
    with operator(data_dir) as (container, _):
        events: list[Any] = list(container.ledger.events.get(aggregate_id))
        if as_of is not None:
            events = [e for e in events if e.timestamp <= as_of]
        if version is not None:
            events = [e for e in events if e.originator_version <= version]
        if not events:
            say(f"{aggregate_id} did not exist then", error=True)
            raise typer.Exit(1)
        aggregate: Any = container.ledger.repository.get(
            aggregate_id, version=events[-1].originator_version
        )
    state = {
        k.lstrip("_"): v
        for k, v in vars(aggregate).items()
        if k != "_pending_events" and not any(word in k for word in SECRET_WORDS)
    }
    typer.echo(json.dumps(jsonable(state), indent=2, sort_keys=True, default=str))


def register(cli: typer.Typer) -> None:
    """Add the commands to the ``ledgerflow`` app."""
    cli.command("verify")(verify_command)
    cli.command("audit")(audit_command)
    cli.command("state")(state_command)
