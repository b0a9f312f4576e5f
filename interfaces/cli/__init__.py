"""The ``ledgerflow`` command line (typer): serve, worker, users, audit, events, projections."""

from __future__ import annotations


def main() -> None:
    """Entry point of the ``ledgerflow`` console script."""
    from interfaces.cli.app import main as run

    run()
