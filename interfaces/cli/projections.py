"""``ledgerflow projections``: where each read model is, and rebuilding one without downtime."""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer
from psycopg import sql

from application.context import CommandContext
from application.follower_skip import OperatorCommands
from interfaces.adapters.event_chain import CHAIN
from interfaces.bootstrap import Container, conninfo
from interfaces.cli.audit import events_table, operator
from interfaces.cli.output import say, table, terminal
from projections.rebuild import DEFAULT_BATCH_SIZE, Progress, Rebuild, RebuildRaced
from projections.runner import Projection

projections = typer.Typer(help="Inspect and rebuild projections.", no_args_is_help=True)


@projections.command("status")
def status() -> None:
    """Position and lag of every projection (and of the hash-chain sealer)."""
    with operator() as (container, conn):
        head = container.ledger.recorder.max_notification_id() or 0
        rows = conn.execute(
            "SELECT name, position, updated_at, stuck_position, stuck_type, stuck_error"
            " FROM ledgerflow_tracking ORDER BY name"
        ).fetchall()
    table(
        f"projections (log head {head})",
        ("name", "position", "head", "lag", "updated_at", "stuck on"),
        [
            (name, pos, head, max(0, head - pos), at.isoformat(), _stuck(s_pos, s_type, error))
            for name, pos, at, s_pos, s_type, error in rows
        ],
    )


def _stuck(position: int | None, kind: str | None, error: str | None) -> str:
    """What a stuck follower cannot apply ('' when it is not stuck)."""
    return "" if position is None else f"{kind} at {position}: {error}"


@projections.command("rebuild")
def rebuild(
    name: Annotated[str, typer.Argument(help="the projection, e.g. tasks")],
    swap: Annotated[bool, typer.Option(help="swap the new table in when built")] = True,
    batch_size: Annotated[
        int, typer.Option(min=1, help="events per transaction while building")
    ] = DEFAULT_BATCH_SIZE,
) -> None:
    """Build NAME again from the log into a new table while the old one serves, then swap."""
    with operator() as (container, conn):
        ledger = container.ledger
        job = Rebuild(
            conninfo(container.database_url),
            _projection_named(container, name),
            ledger.recorder,
            ledger.mapper,
            ledger.recorder.channel_name,  # type: ignore[attr-defined]
            batch_size,
        )
        try:
            done = _build_with_progress(job, conn)
        except KeyboardInterrupt:
            say(
                f"interrupted: the old {job.table} table still serves;"
                " run the same command again to resume",
                error=True,
                style="yellow",
            )
            raise typer.Exit(130) from None
        except RebuildRaced as raced:
            say(str(raced), error=True, style="red")
            raise typer.Exit(1) from None
        say(
            f"built {job.fresh_table} to position {done.position}: {done.applied} positions"
            f" in {done.seconds:.1f}s ({done.rate:,.0f} events/s)"
        )
        if not swap:
            return
        swapped = job.swap(conn)
    verdict = "identical to" if swapped.identical else "DIFFERENT from"
    say(
        f"swapped at position {swapped.position}: new table ({swapped.new_rows} rows) {verdict}"
        f" the old one ({swapped.old_rows} rows)",
        style="green" if swapped.identical else "yellow",
    )


def _projection_named(container: Container, name: str) -> Projection:
    names = [r.projection.name for r in container.runners if r.projection.name != CHAIN]
    found = [r for r in container.runners if r.projection.name == name and name in names]
    if not found:
        known = ", ".join(names)
        raise typer.BadParameter(f"unknown projection; one of: {known}", param_hint="NAME")
    return found[0].projection


class _PlainReport:
    """Progress lines on stderr when no terminal is attached: about every 50,000 events."""

    def __init__(self) -> None:
        self._shown = 0

    def __call__(self, p: Progress) -> None:
        if p.position == p.head or p.applied - self._shown >= 50_000:
            self._shown = p.applied
            say(f"rebuilding: {p.position}/{p.head}, {p.rate:,.0f} events/s", error=True)


def _build_with_progress(job: Rebuild, conn: Any) -> Progress:
    if not terminal():
        return job.build(conn, _PlainReport())
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    with Bar(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn()) as bar:
        shown = bar.add_task(f"rebuilding {job.table}", total=None)

        def report(p: Progress) -> None:
            bar.update(
                shown,
                completed=p.position,
                total=p.head,
                description=f"rebuilding {job.table}: {p.position}/{p.head}, {p.rate:,.0f} ev/s",
            )

        return job.build(conn, report)


@projections.command("skip")
def skip(
    name: Annotated[str, typer.Argument(help="the follower, e.g. tasks, relay, reactor.<name>")],
    position: Annotated[int, typer.Argument(min=1, help="the position of the event to skip")],
    reason: Annotated[str, typer.Option(help="why (kept in the audit log)")],
) -> None:
    """Tell follower NAME to skip the event at POSITION it cannot apply (recorded as an event).

    The way out when a follower is stuck on an event (see `projections status` and /health) and
    fixing the code is not possible now. Its read model will lack what that event says; a later
    rebuild with fixed code applies it again.
    """
    with operator() as (container, conn):
        row = conn.execute(
            "SELECT position, stuck_position FROM ledgerflow_tracking WHERE name = %s", (name,)
        ).fetchone()
        if row is None:
            say(f"no follower named {name!r} (see `ledgerflow projections status`)", error=True)
            raise typer.Exit(2)
        if position <= row[0]:
            say(f"{name} is already past position {position} (at {row[0]})", error=True)
            raise typer.Exit(2)
        found = conn.execute(
            sql.SQL("SELECT topic FROM {} WHERE notification_id = %s").format(
                sql.Identifier(events_table(container))
            ),
            (position,),
        ).fetchone()
        if found is None:
            say(f"there is no event at position {position}", error=True)
            raise typer.Exit(2)
        context = CommandContext(actor=f"operator:{getpass.getuser()}")
        recorded = container.ledger[OperatorCommands].skip_event(
            context, name, position, found[0], reason
        )
        conn.execute(
            "INSERT INTO ledgerflow_skips (name, position, reason, actor) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            (name, position, reason, context.actor),
        )
    where = f"recorded at position {recorded}" if recorded else "recorded before"
    stuck = "" if row[1] == position else f" (it is stuck at {row[1]})" if row[1] else ""
    say(
        f"{name} will skip the {found[0]} event at position {position}{stuck};"
        f" the decision is follower.event_skipped, {where}",
        style="yellow",
    )
