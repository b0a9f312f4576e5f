"""``ledgerflow events``: tail, export and import the event log."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from psycopg import sql

from interfaces.adapters.event_transfer import StoreNotEmpty, export_records, import_lines
from interfaces.bootstrap import Container
from interfaces.cli.audit import events_table, operator
from interfaces.cli.options import DataDir
from interfaces.cli.output import say, terminal
from projections.envelope import envelope
from projections.event_feed import like_pattern, type_matcher

events = typer.Typer(help="Read, export and import the event log.", no_args_is_help=True)
# Following wakes on NOTIFY; this slow poll only guards against a lost notification.
FOLLOW_POLL_SECONDS = 5.0


@events.command("tail")
def tail(
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="keep printing new events")
    ] = False,
    type_: Annotated[str, typer.Option("--type", help="event type pattern, e.g. task.*")] = "*",
    last: Annotated[int, typer.Option(min=0, help="how many past events to show first")] = 20,
    after: Annotated[
        int | None, typer.Option(min=0, help="start after this position (instead of --last)")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """The latest events as JSON envelopes (one per line), optionally following new ones.

    Following wakes on the event store's NOTIFY (LISTEN before the first read, so no event can
    fall between the two) and polls every few seconds as a safety net; Ctrl-C ends it (status 0).
    """
    try:
        with operator(data_dir) as (container, conn):
            _tail(container, conn, follow, type_, last, after)
    except KeyboardInterrupt:  # also SIGTERM and SIGHUP (interfaces/cli/signals.py)
        return


def _tail(
    container: Container, conn: Any, follow: bool, type_: str, last: int, after: int | None
) -> None:
    matches = type_matcher([type_]).fullmatch
    recorder = container.ledger.recorder
    if follow:
        conn.execute(f'LISTEN "{recorder.channel_name}"')  # type: ignore[attr-defined]
    position = after if after is not None else _before_last(conn, container, type_, last)
    announced = False
    while True:
        batch = recorder.select_notifications(start=position + 1, limit=500)
        for notification in batch:
            position = notification.id
            if matches(notification.topic):
                event = container.ledger.mapper.to_domain_event(notification)
                _print_envelope(envelope(event, notification.id))
        if not batch:
            if not follow:
                return
            if not announced:
                say("following new events (Ctrl-C ends)", error=True)
                announced = True
            for _ in conn.notifies(timeout=FOLLOW_POLL_SECONDS, stop_after=1):
                pass


def _before_last(conn: Any, container: Container, type_: str, last: int) -> int:
    """The position just before the last ``last`` events of the type pattern (filter, then
    count), or the log head when there are none to show."""
    found = conn.execute(
        sql.SQL(
            "SELECT min(notification_id), (SELECT max(notification_id) FROM {table})"
            " FROM (SELECT notification_id FROM {table} WHERE topic LIKE %s"
            " ORDER BY notification_id DESC LIMIT %s) AS latest"
        ).format(table=sql.Identifier(events_table(container))),
        (like_pattern(type_), last),
    ).fetchone()
    first, head = found
    return int(first) - 1 if first is not None else int(head or 0)


def _print_envelope(env: dict[str, object]) -> None:
    if terminal():
        typer.secho(f"{env['position']:>8} {env['type']:<22}", fg="cyan", nl=False)
        typer.echo(f" {env['aggregate_id']} v{env['version']} {env['actor']}")
    else:
        typer.echo(json.dumps(env, sort_keys=True))


@events.command("export")
def export(
    format_: Annotated[str, typer.Option("--format", help="only jsonl")] = "jsonl",
    after: Annotated[int, typer.Option(min=0, help="export events after this position")] = 0,
    data_dir: DataDir = None,
) -> None:
    """Write the stored events after a position to stdout as JSON lines (raw, re-importable)."""
    if format_ != "jsonl":
        raise typer.BadParameter("only jsonl is supported", param_hint="--format")
    with operator(data_dir) as (container, conn):
        for record in export_records(conn, events_table(container), after):
            sys.stdout.write(json.dumps(record) + "\n")


@events.command("import")
def import_(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)], data_dir: DataDir = None
) -> None:
    """Load an export into an EMPTY event store, at the same positions."""
    with operator(data_dir) as (container, conn), file.open(encoding="utf-8") as lines:
        try:
            count = import_lines(
                conn,
                events_table(container),
                lines,
                progress=lambda n: say(f"imported {n} events", error=True) if terminal() else None,
            )
        except StoreNotEmpty as refused:
            say(str(refused), error=True, style="red")
            raise typer.Exit(1) from None
    say(f"imported {count} events", style="green")
