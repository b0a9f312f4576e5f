"""``ledgerflow stats`` (the numbers of the whole installation) and ``ledgerflow top`` (the
followers' positions and lag, live)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

import psycopg
import typer

from interfaces.analytics import Window
from interfaces.bootstrap import Container
from interfaces.cli.audit import operator
from interfaces.cli.options import DataDir
from interfaces.cli.output import table, terminal
from projections.schema import tracked_positions
from projections.task import TaskQueries
from projections.task_activity import window


def stats(
    days: Annotated[int, typer.Option(min=1, max=365, help="days of activity to add up")] = 7,
    data_dir: DataDir = None,
) -> None:
    """Tasks by status and priority, the last DAYS days of tasks, runs, agents and every other
    section of the analytics overview, and every feature's gauges (the numbers /metrics
    shows), for all users."""
    with operator(data_dir) as (container, _):
        now = datetime.now(UTC)
        counted = container.query(TaskQueries).stats(None, now)
        first, last = window(days, now.date())
        everyone = Window(None, first, last)
        overview = [
            (entry.where.removeprefix("overview."), entry.read(container.lookup, everyone))
            for feature in container.features
            for entry in feature.analytics
            if entry.where.startswith("overview.")
        ]
        sampler = container.sampler
        assert sampler is not None, "build() gives every container a sampler"
        sampler.sample_once()
    table(
        f"tasks ({counted['total']}, {counted['overdue']} overdue)",
        ("status", "tasks"),
        list(counted["by_status"].items()),
    )
    table("tasks by priority", ("priority", "tasks"), list(counted["by_priority"].items()))
    for section, numbers in overview:
        title = f"{section}, last {days} days ({first} to {last})"
        table(title, ("number", "value"), list(numbers.items()))
    for gauge in sampler.gauges:
        rows = [(*labels, value) for labels, value in sampler.sample.values.get(gauge.name, [])]
        table(gauge.documentation.lower(), (*gauge.labels, "count"), rows)


def top(
    interval: Annotated[float, typer.Option(min=0.05, help="seconds between refreshes")] = 1.0,
    iterations: Annotated[int, typer.Option(min=0, help="stop after N refreshes (0: never)")] = 0,
    data_dir: DataDir = None,
) -> None:
    """Every follower's position and lag, refreshed every INTERVAL seconds until Ctrl-C:
    a coloured live table on a terminal, one block of lines per refresh into a pipe."""
    with operator(data_dir) as (container, conn):
        try:
            if terminal():
                _live(container, conn, interval, iterations)
            else:
                _plain(container, conn, interval, iterations)
        except KeyboardInterrupt:
            pass


def _rows(container: Container, conn: psycopg.Connection[Any]) -> tuple[int, list[tuple[Any, ...]]]:
    positions = tracked_positions(conn)
    head = max(container.ledger.recorder.max_notification_id() or 0, *positions.values(), 0)
    return head, [(n, p, max(0, head - p)) for n, p in sorted(positions.items())]


def _plain(
    container: Container, conn: psycopg.Connection[Any], interval: float, iterations: int
) -> None:
    done = 0
    while iterations == 0 or done < iterations:
        head, rows = _rows(container, conn)
        typer.echo(f"{datetime.now(UTC).isoformat(timespec='seconds')}\thead\t{head}")
        for name, position, lag in rows:
            typer.echo(f"{name}\t{position}\t{lag}")
        done += 1
        if iterations == 0 or done < iterations:
            time.sleep(interval)


def _live(
    container: Container, conn: psycopg.Connection[Any], interval: float, iterations: int
) -> None:
    from rich.live import Live
    from rich.table import Table

    def render() -> Table:
        head, rows = _rows(container, conn)
        shown = Table(title=f"ledgerflow top: log head {head} (Ctrl-C to stop)")
        for header in ("follower", "position", "lag"):
            shown.add_column(header, justify="left" if header == "follower" else "right")
        for name, position, lag in rows:
            style = "green" if lag == 0 else "yellow" if lag < 1000 else "red"
            shown.add_row(name, str(position), f"[{style}]{lag}[/{style}]")
        return shown

    done = 0
    with Live(render(), auto_refresh=False) as live:
        while iterations == 0 or done < iterations:
            done += 1
            if iterations == 0 or done < iterations:
                time.sleep(interval)
            live.update(render(), refresh=True)
