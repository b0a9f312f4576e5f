"""One log format, redaction of secrets, and the development-secret warning (issue 12, defect 8)."""

from __future__ import annotations

import io
import json
import logging

import pytest

from interfaces.logs import REDACTED, Redactor, chosen_format, configure_from, configure_logging
from interfaces.settings import DEFAULT_SECRET, Settings

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqb2huIn0.abcDEF123_-x"
API_KEY = "lf_0123456789abcdef0123456789abcdef_Xb2Lq9Vt4NwR7yKc1MzP8sHd3Gf6Ja5U"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(False)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"Authorization: Bearer {JWT}", JWT),
        (f"token={JWT}&x=1", JWT),
        (f"sent {API_KEY} once", API_KEY),
        ("secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw made", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        ("postgresql://ledger:hunter2pass@db:5432/ledger", "hunter2pass"),
        ('{"password": "securepass123"}', "securepass123"),
        ("old_password=securepass123", "securepass123"),
        ("refresh_token: 6f7a8b9c.q8N3Hf0xKc2mW7vY", "q8N3Hf0xKc2mW7vY"),
    ],
)
def test_secrets_are_redacted_wherever_they_stand(text, secret):
    redacted = Redactor()(text)
    assert secret not in redacted
    assert REDACTED in redacted


def test_the_configured_secret_values_are_redacted_too():
    assert (
        Redactor(["a-private-secret-value-of-some-length"])(
            "key a-private-secret-value-of-some-length leaked"
        )
        == f"key {REDACTED} leaked"
    )


def test_ordinary_text_is_left_alone():
    text = "GET /api/v1/tasks 200 3.2ms task_id=0b9d5c7e-4f4e-4a8e-9a53-6f1b2c3d4e5f"
    assert Redactor()(text) == text


def test_json_lines_when_not_a_terminal_readable_lines_on_one(restore_logging):
    assert chosen_format("auto", io.StringIO()) == "json"
    assert chosen_format("auto", Terminal()) == "text"
    assert chosen_format("json", Terminal()) == "json"
    out = io.StringIO()
    configure_logging("info", "auto", stream=out)
    logging.getLogger("ledgerflow.test").info("hello %s", "there", extra={"request_id": "r-1"})
    line = json.loads(out.getvalue().splitlines()[-1])
    assert line["message"] == "hello there"
    assert line["level"] == "info" and line["logger"] == "ledgerflow.test"
    assert line["request_id"] == "r-1" and line["time"].endswith("+00:00")
    shown = Terminal()
    configure_logging("info", "auto", stream=shown)
    logging.getLogger("ledgerflow.test").info("hello", extra={"request_id": "r-2"})
    assert shown.getvalue().rstrip().endswith("INFO ledgerflow.test: hello request_id=r-2")


def test_every_logger_goes_through_the_one_handler_redacted(restore_logging):
    out = io.StringIO()
    configure_logging("info", "json", stream=out)
    logging.getLogger("uvicorn.error").info("header Authorization: Bearer %s", JWT)
    try:
        raise ValueError(f"password={DEFAULT_SECRET}")
    except ValueError:
        logging.getLogger("some.library").exception("failed")
    logging.getLogger("some.library").warning('sent {"password": "a\\"b"}')
    written = out.getvalue()
    assert JWT not in written and DEFAULT_SECRET not in written
    assert [json.loads(line)["logger"] for line in written.splitlines()] == [
        "uvicorn.error",
        "some.library",
        "some.library",
    ]


def test_the_development_secret_is_warned_about_at_start(restore_logging, capsys):
    configure_from(Settings(log_format="json"))
    warning = json.loads(capsys.readouterr().err.splitlines()[-1])
    assert warning["level"] == "warning"
    assert "LEDGERFLOW_SECRET_KEY" in warning["message"]
    configure_from(Settings(log_format="json", secret_key="x" * 40))
    assert capsys.readouterr().err == ""
