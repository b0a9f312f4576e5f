"""FastAPI's native OpenTelemetry: on when a provider is set before the app is built, else off.

FastAPI asks OpenTelemetry on every request whether a tracer, meter or logger provider has been
configured, which reads the environment each time: about 6 % of the API process's interpreter
time under a POST load (py-spy ``--gil``), for nothing when no provider is set. The answer is
taken once, when the app is built: an operator who wants traces configures OpenTelemetry first
(``opentelemetry-instrument ledgerflow serve`` does, or a provider set in code before
``create_app``), and FastAPI then traces as usual.
"""

from __future__ import annotations

from typing import Any

from fastapi.telemetry import TelemetryConfig
from opentelemetry import _logs, metrics, trace

# OpenTelemetry's placeholders until a provider is set (FastAPI checks the same classes).
PLACEHOLDERS = frozenset({"ProxyTracerProvider", "_ProxyMeterProvider", "ProxyLoggerProvider"})


def _configured(provider: Any) -> bool:
    return type(provider).__name__ not in PLACEHOLDERS


def telemetry_config() -> TelemetryConfig | None:
    """FastAPI's defaults when any OpenTelemetry provider is set now; every signal off if none."""
    providers = (
        trace.get_tracer_provider(),
        metrics.get_meter_provider(),
        _logs.get_logger_provider(),
    )
    if any(_configured(provider) for provider in providers):
        return None
    return {"tracing": False, "metrics": False, "logs": False}
