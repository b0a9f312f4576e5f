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

from application.error import (
    ConcurrentChange,
    InvalidCredentials,
    InvalidToken,
    MfaRequired,
    NotAllowed,
    StaleVersion,
    WeakPassword,
)
from domain.agent import AgentExists, AgentNotFound, AgentStopped
from domain.approval import (
    AlreadyVoted,
    AmbiguousApproval,
    ApprovalDecided,
    NoPendingApproval,
    NotAnApprover,
    SelfApproval,
)
from domain.cron import InvalidCron, UnknownTimezone
from domain.dispatch import LeaseNotHeld, ProgressOutOfRange, TaskCancelled, TaskFinished
from domain.error import Conflict, DomainError, InvalidValue, NotFound
from domain.flow import FlowNotFound, StepHasDependents, StepNotFound
from domain.flow_step import (
    DependencyCycle,
    DuplicateStepKey,
    InvalidStepConfig,
    UnknownDependency,
    UnknownStepType,
)
from domain.run import RunFinished, RunNotFound
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


# Most specific first is not needed: the exception's MRO is walked, nearest class wins.
STATUS: dict[type[Exception], tuple[int, str]] = {
    ProgressOutOfRange: (400, "PROGRESS_OUT_OF_RANGE"),
    SelfApproval: (403, "SELF_APPROVAL"),
    NotAnApprover: (403, "NOT_AN_APPROVER"),
    AlreadyVoted: (409, "ALREADY_VOTED"),
    ApprovalDecided: (409, "APPROVAL_DECIDED"),
    NoPendingApproval: (409, "NO_PENDING_APPROVAL"),
    AmbiguousApproval: (409, "AMBIGUOUS_APPROVAL"),
    AgentExists: (409, "AGENT_EXISTS"),
    AgentNotFound: (404, "AGENT_NOT_FOUND"),
    AgentStopped: (409, "AGENT_STOPPED"),
    TaskCancelled: (409, "TASK_CANCELLED"),
    TaskFinished: (409, "TASK_FINISHED"),
    LeaseNotHeld: (409, "LEASE_NOT_HELD"),
    InvalidValue: (422, "INVALID_VALUE"),
    InvalidCron: (422, "INVALID_CRON"),
    UnknownTimezone: (422, "UNKNOWN_TIMEZONE"),
    WeakPassword: (422, "WEAK_PASSWORD"),
    UnsafeWebhookURL: (422, "UNSAFE_WEBHOOK_URL"),
    UsernameTaken: (400, "USERNAME_TAKEN"),  # Behflow: "400 Bad Request: Username already exists"
    EmailTaken: (400, "EMAIL_TAKEN"),  # the same answer for the other unique sign-in name
    DuplicateStepKey: (422, "DUPLICATE_STEP_KEY"),
    UnknownDependency: (422, "UNKNOWN_DEPENDENCY"),
    DependencyCycle: (422, "DEPENDENCY_CYCLE"),
    UnknownStepType: (422, "UNKNOWN_STEP_TYPE"),
    InvalidStepConfig: (422, "INVALID_STEP_CONFIG"),
    FlowNotFound: (404, "FLOW_NOT_FOUND"),
    RunNotFound: (404, "RUN_NOT_FOUND"),
    StepNotFound: (404, "STEP_NOT_FOUND"),
    NotFound: (404, "NOT_FOUND"),  # a subclass may name its own code (``FLOW_NOT_FOUND``)
    RunFinished: (409, "RUN_FINISHED"),
    StepHasDependents: (409, "STEP_HAS_DEPENDENTS"),
    StaleVersion: (412, "STALE_VERSION"),
    ConcurrentChange: (409, "CONFLICT"),
    Conflict: (409, "CONFLICT"),
    InvalidCredentials: (401, "INVALID_CREDENTIALS"),
    MfaRequired: (401, "MFA_REQUIRED"),
    InvalidToken: (401, "NOT_AUTHENTICATED"),
    NotAllowed: (403, "FORBIDDEN"),
    ProjectionNotCaughtUp: (503, "READ_MODEL_BEHIND"),
    TooManyAttempts: (429, "RATE_LIMITED"),
    TooManyWaits: (429, "TOO_MANY_WAITS"),
    psycopg.OperationalError: (503, "DATABASE_UNAVAILABLE"),
    psycopg.InterfaceError: (503, "DATABASE_UNAVAILABLE"),
    psycopg_pool.PoolTimeout: (503, "DATABASE_UNAVAILABLE"),
    eventsourcing.persistence.OperationalError: (503, "DATABASE_UNAVAILABLE"),
    eventsourcing.persistence.InterfaceError: (503, "DATABASE_UNAVAILABLE"),
    DomainError: (400, "BAD_REQUEST"),
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


def _lookup(error: BaseException) -> tuple[int, str] | None:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return None


async def _on_known(request: Request, error: Exception) -> JSONResponse:
    status, code = _lookup(error) or (500, "INTERNAL_ERROR")
    if isinstance(error, NotFound):
        code = error.code  # a resource may name its own (flow8's FLOW_NOT_FOUND)
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
