"""Numbers for Prometheus that come from the database, sampled in the background.

A scrape of ``/metrics`` must not query the database (a scraper every few seconds, times every
worker, would add load that grows with the fleet), so a ``MetricsSampler`` thread reads them every
``LEDGERFLOW_METRICS_SAMPLE_SECONDS`` and the scrape reads its last sample. What is sampled:

- the head of the event log and every follower's tracked position (``ledgerflow_tracking``), so
  each follower's lag is known in every process, even one that runs no follower;
- each feature's ``Sampled`` gauges, declared in its ``Feature.metrics`` (tasks by status, users,
  webhook deliveries by status, ...): a feature added later (runs, agents, approvals) declares its
  own numbers there and they appear without touching this module.

Counters of things that happen in a process (HTTP requests, WebSocket connections) are kept by
``interfaces/api/metrics.py`` with prometheus-client's own metrics instead.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from psycopg_pool import ConnectionPool

from projections.schema import stuck_followers, tracked_positions

log = logging.getLogger(__name__)

Rows = Iterable[tuple[Sequence[str], float]]


@dataclass(frozen=True)
class Sampled:
    """A gauge a feature declares: its name, help, label names, and how to read its values
    (``read(connection)`` yields ``(label values, value)``; run in the sampler, never a request)."""

    name: str
    documentation: str
    labels: tuple[str, ...]
    read: Callable[[psycopg.Connection[Any]], Rows]


def count_by(
    table: str, column: str, where: str = "", *, tracked: bool = False
) -> Callable[[psycopg.Connection[Any]], Rows]:
    """A ``Sampled.read`` counting a read model's rows by one column (constant SQL only).

    ``tracked``: only the read model's projection (tracked under the table's name) changes the
    table, so while its tracked position stays put the last counts are returned without
    scanning the table (an idle server's sampler then costs one read of the tracking table).
    Not for a table that something besides its projection writes (webhook deliveries)."""
    query = f"SELECT {column}::text, count(*) FROM {table} {where} GROUP BY 1"  # noqa: S608
    last: list[tuple[int, list[tuple[Sequence[str], float]]]] = []  # (position, counts)

    def read(conn: psycopg.Connection[Any]) -> Rows:
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
        if not exists or not exists[0]:
            return []
        position = _tracked_position(conn, table) if tracked else None
        if position is not None and last and last[0][0] == position:
            return last[0][1]
        counts: list[tuple[Sequence[str], float]] = [
            ((str(key),), float(n)) for key, n in conn.execute(query).fetchall()
        ]
        if position is not None:
            last[:] = [(position, counts)]
        return counts

    return read


def _tracked_position(conn: psycopg.Connection[Any], name: str) -> int | None:
    """The position the projection ``name`` has applied (None: not tracked yet)."""
    exists = conn.execute("SELECT to_regclass('ledgerflow_tracking') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return None
    row = conn.execute("SELECT position FROM ledgerflow_tracking WHERE name = %s", (name,))
    found = row.fetchone()
    return None if found is None else int(found[0])


@dataclass
class Sample:
    """What the sampler read last."""

    head: int = 0
    positions: dict[str, int] = field(default_factory=dict)
    values: dict[str, list[tuple[Sequence[str], float]]] = field(default_factory=dict)
    ok: bool = False
    stuck: dict[str, int] = field(default_factory=dict)  # follower -> the event it cannot apply


class MetricsSampler:
    """Reads the sampled numbers every ``interval`` seconds in a daemon thread."""

    def __init__(
        self,
        pool: ConnectionPool[Any],
        head: Callable[[], int | None],
        gauges: Sequence[Sampled],
        interval: float = 5.0,
    ) -> None:
        self._pool = pool
        self._head = head
        self.gauges = tuple(gauges)
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sample = Sample()

    def start(self) -> None:
        """Sample now and then every interval."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="metrics-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def sample_once(self) -> None:
        """Read everything once (the thread's pass; tests call it directly)."""
        fresh = Sample(head=int(self._head() or 0), ok=True)
        with self._pool.connection(timeout=5) as conn:
            fresh.positions = tracked_positions(conn)
            fresh.stuck = {name: s.position for name, s in stuck_followers(conn).items()}
            for gauge in self.gauges:
                fresh.values[gauge.name] = list(gauge.read(conn))
        self.sample = fresh

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sample_once()
            except Exception as error:  # the last good sample stays; say so once per failure
                log.warning("metrics sampler: %s", error)
                last = self.sample
                self.sample = Sample(last.head, last.positions, last.values, False, last.stuck)
            self._stop.wait(self._interval)


class SampledCollector(Collector):
    """Exposes the last sample, overlaid with fresher in-process positions (``live``)."""

    def __init__(
        self,
        sampler: MetricsSampler,
        live: Callable[[], tuple[int, dict[str, int], dict[str, bool]]],
        relay: str = "relay",
    ) -> None:
        self._sampler = sampler
        self._live = live
        self._relay = relay

    def collect(self) -> Iterator[Metric]:
        """The gauges of the last sample."""
        sample = self._sampler.sample
        live_head, live_positions, failing = self._live()
        positions = dict(sample.positions)
        for name, position in live_positions.items():
            positions[name] = max(position, positions.get(name, 0))
        head = max(sample.head, live_head, *positions.values(), 0)
        yield _gauge("ledgerflow_event_head_position", "Position of the last event", [((), head)])
        yield _gauge(
            "ledgerflow_projection_position",
            "Position each follower (read model, relay, sealer, reactor) has applied",
            [((name,), p) for name, p in sorted(positions.items())],
            ("projection",),
        )
        yield _gauge(
            "ledgerflow_projection_lag_events",
            "Events recorded but not yet applied by each follower",
            [((name,), max(0, head - p)) for name, p in sorted(positions.items())],
            ("projection",),
        )
        if self._relay in positions:
            lag = max(0, head - positions[self._relay])
            yield _gauge("ledgerflow_relay_lag_events", "Events not yet on the bus", [((), lag)])
        yield _gauge(
            "ledgerflow_follower_failing",
            "1 when a follower of this process last failed (see /api/v1/settings/health)",
            [((name,), float(bad)) for name, bad in sorted(failing.items())],
            ("projection",),
        )
        yield _gauge(
            "ledgerflow_follower_stuck_position",
            "The position of the event a follower cannot apply (see ledgerflow projections skip)",
            [((name,), p) for name, p in sorted(sample.stuck.items())],
            ("projection",),
        )
        yield _gauge(
            "ledgerflow_metrics_sample_ok",
            "1 when the last background sample succeeded",
            [((), float(sample.ok))],
        )
        for gauge in self._sampler.gauges:
            yield _gauge(
                gauge.name, gauge.documentation, sample.values.get(gauge.name, []), gauge.labels
            )


def _gauge(
    name: str,
    documentation: str,
    values: Iterable[tuple[Sequence[str], float]],
    labels: Sequence[str] = (),
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=list(labels))
    for label_values, value in values:
        family.add_metric(list(label_values), value)
    return family
