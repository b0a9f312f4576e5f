"""FastAPI's native OpenTelemetry is off unless a provider is set before the app is built."""

from opentelemetry import trace

from interfaces.api import telemetry


def test_every_signal_is_off_when_no_provider_is_set():
    assert telemetry.telemetry_config() == {"tracing": False, "metrics": False, "logs": False}


def test_fastapi_keeps_its_defaults_when_a_tracer_provider_is_set(monkeypatch):
    class SdkTracerProvider(trace.NoOpTracerProvider):
        """Stands for an SDK provider an operator configured."""

    monkeypatch.setattr(telemetry.trace, "get_tracer_provider", SdkTracerProvider)
    assert telemetry.telemetry_config() is None
