"""The one table from exceptions to HTTP answers, and the handlers that apply it.

Every error body is ``{"detail": "<sentence>", "code": "<MACHINE_CODE>"}`` (plus ``errors`` for
validation), with the seeds' fields beside them: ``message`` (= detail), ``statusCode``,
``timestamp`` and ``error`` (= code; a seed's presenter may put its own word there, see
interfaces/api/presenters.py). Never a stack trace.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime
from typing import Any

import eventsourcing.persistence
import psycopg
import psycopg_pool
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from application.error import InvalidCredentials, InvalidToken, StaleVersion, WeakPassword
from domain.dispatch import ProgressOutOfRange
from domain.error import Conflict, DomainError, Forbidden, InvalidValue, NotFound
from domain.user import EmailTaken, UsernameTaken
from interfaces.adapters.webhook_guard import UnsafeWebhookURL
from interfaces.api.consistency import TooManyWaits
from projections.watch import ProjectionNotCaughtUp

log = logging.getLogger(__name__)


class TooManyAttempts(Exception):
    """Too many attempts of a throttled action (login) from one username or address."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"Too many attempts; retry in {math.ceil(retry_after)} s")
        self.retry_after = math.ceil(retry_after)


# The HTTP status of each kind of error; the nearest class in the error's MRO wins. A domain or
# application refusal (``DomainError``) carries its own machine code (``code`` on its class, next
# to where it is raised), so a new aggregate's errors need no line here: only a kind, and the few
# refusals whose status a seed's document fixes against their kind, are listed. Other exceptions
# (infrastructure, the API's own) name their code here.
STATUS: dict[type[Exception], tuple[int, str | None]] = {
    ProgressOutOfRange: (400, None),  # DevFlow: 400 "Progress must be between 0 and 1"
    UsernameTaken: (400, None),  # Behflow: "400 Bad Request: Username already exists"
    EmailTaken: (400, None),  # the same answer for the other unique sign-in name
    InvalidValue: (422, None),
    WeakPassword: (422, None),
    NotFound: (404, None),
    Conflict: (409, None),
    StaleVersion: (412, None),
    InvalidCredentials: (401, None),
    InvalidToken: (401, None),
    Forbidden: (403, None),
    DomainError: (400, None),
    UnsafeWebhookURL: (422, "UNSAFE_WEBHOOK_URL"),
    ProjectionNotCaughtUp: (503, "READ_MODEL_BEHIND"),
    TooManyAttempts: (429, "RATE_LIMITED"),
    TooManyWaits: (429, "TOO_MANY_WAITS"),
    psycopg.OperationalError: (503, "DATABASE_UNAVAILABLE"),
    psycopg.InterfaceError: (503, "DATABASE_UNAVAILABLE"),
    psycopg_pool.PoolTimeout: (503, "DATABASE_UNAVAILABLE"),
    eventsourcing.persistence.OperationalError: (503, "DATABASE_UNAVAILABLE"),
    eventsourcing.persistence.InterfaceError: (503, "DATABASE_UNAVAILABLE"),
}
HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "NOT_AUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    412: "STALE_VERSION",
    413: "TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
    503: "SERVICE_UNAVAILABLE",
}


class ErrorOut(BaseModel):
    """The body of every error response."""

    detail: str = Field(description="what went wrong, in one sentence", examples=["Task not found"])
    code: str = Field(
        description="a stable machine-readable error code", examples=["TASK_NOT_FOUND"]
    )
    message: str = Field(
        description="the same text as detail (AstraFlow, DevFlow)", examples=["Task not found"]
    )
    statusCode: int = Field(  # noqa: N815 - the seeds' spelling (DevFlow, flow8)
        description="the HTTP status code, repeated in the body (DevFlow)", examples=[404]
    )
    timestamp: datetime = Field(
        description="when the error was answered (UTC)", examples=["2026-12-01T10:00:00Z"]
    )
    error: str = Field(
        description="the code, or the seed's error title where its presenter says so",
        examples=["TASK_NOT_FOUND"],
    )
    errors: list[dict[str, Any]] | None = Field(
        default=None,
        description="each invalid field of a validation error: location, message, type",
        examples=[[{"loc": ["body", "name"], "msg": "Field required", "type": "missing"}]],
    )


def _doc(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


BAD_REQUEST = _doc("Bad input")
UNAUTHORIZED = _doc("Authentication required or invalid token")
FORBIDDEN = _doc("Authenticated but not allowed (role)")
NOT_FOUND = _doc("Resource not found (also for resources of other users)")
CONFLICT = _doc("Conflict with a concurrent change")
STALE = _doc("If-Match does not match the current version")
INVALID = _doc("Validation error")
UNAVAILABLE = _doc("A dependency is down or the read model is behind")
RATE_LIMITED = _doc("Too many requests (see Retry-After and X-RateLimit-*)")
TOO_LARGE = _doc("The request body exceeds LEDGERFLOW_MAX_BODY_BYTES")
UNSUPPORTED = _doc("The body is not of the media type the route reads (JSON, or a form)")
# What any route may answer before it runs (interfaces/api/request_guard.py, rate_limit.py).
EVERY_ROUTE: dict[int | str, dict[str, Any]] = {
    400: BAD_REQUEST,
    413: TOO_LARGE,
    415: UNSUPPORTED,
    422: INVALID,
    429: RATE_LIMITED,
}
AUTHED: dict[int | str, dict[str, Any]] = {
    401: UNAUTHORIZED,
    422: INVALID,
    429: RATE_LIMITED,
    503: UNAVAILABLE,
}


def error_response(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """An error in the one shape clients parse."""
    return JSONResponse(error_body(status, code, detail, **extra), status, headers)


def error_body(status: int, code: str, detail: str, **extra: Any) -> dict[str, Any]:
    """The fields of every error: Ledgerflow's ``detail``/``code`` and the seeds' spellings."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "detail": detail,
        "code": code,
        "message": detail,
        "statusCode": status,
        "timestamp": now,
        "error": code,
        **extra,
    }


def status_of(error: BaseException) -> tuple[int, str]:
    """The HTTP status and machine code of an error (500 for one nobody expected)."""
    for cls in type(error).__mro__:
        if cls in STATUS:
            status, code = STATUS[cls]
            return status, code or str(getattr(error, "code", "ERROR"))
    return 500, "INTERNAL_ERROR"


async def _on_known(request: Request, error: Exception) -> JSONResponse:
    status, code = status_of(error)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, TooManyAttempts | TooManyWaits):
        headers["Retry-After"] = str(error.retry_after)
    if status == 503:
        headers["Retry-After"] = "1"
        log.warning("%s %s: %s", request.method, request.url.path, error)
    if code == "DATABASE_UNAVAILABLE" and hasattr(request.app.state, "availability"):
        request.app.state.availability.mark_down(error)
    detail = (
        str(error)
        if status != 503 or isinstance(error, ProjectionNotCaughtUp)
        else ("The database is unavailable; retry shortly")
    )
    return error_response(status, code, detail, headers)


async def _on_http(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    detail = error.detail if isinstance(error.detail, str) else "Request failed"
    if error.status_code == 404 and detail == "Not Found":
        detail = "Resource not found"
    code = HTTP_CODES.get(error.status_code, "ERROR")
    return error_response(error.status_code, code, detail, dict(error.headers or {}))


async def _on_validation(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
        for e in error.errors()
    ]
    if any(p["type"] == "json_invalid" for p in problems):
        return error_response(400, "MALFORMED_JSON", "The request body is not valid JSON")
    first = problems[0] if problems else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(part) for part in first["loc"] if part != "body") or "request"
    return error_response(
        422, "VALIDATION_ERROR", f"Invalid {where}: {first['msg']}", errors=problems
    )


async def _on_unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "INTERNAL_ERROR", "Internal server error")


class ContainErrors:
    """ASGI middleware: an unexpected error answers 500 and the connection stays usable.

    Starlette's outermost handler answers 500 and then re-raises, and uvicorn closes the
    connection of an application that raised: a keep-alive client saw a reset after every 500.
    Only an error after the response started (a stream cut short) still closes it, since
    closing is then the only way to tell the client the body is incomplete.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            if started:
                raise
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            answer = error_response(500, "INTERNAL_ERROR", "Internal server error")
            await answer(scope, receive, send)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    for cls in STATUS:
        app.add_exception_handler(cls, _on_known)
    app.add_exception_handler(HTTPException, _on_http)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(Exception, _on_unexpected)
