"""Seed aliases: a seed's spelling of a canonical route, served by the same route and handler.

A feature declares its aliases beside its routers (``Feature.aliases``, see
docs/architecture.md, "Serving a seed's spelling")::

    Alias("GET", "/api/tasks/{task_id}", "/api/v1/tasks/{task_id}", DEVFLOW_TASK)

Each alias becomes a route at the END of the router, so a request to a canonical route never
looks at one: the alias layer costs the canonical paths nothing. When an alias matches, the
request is rewritten to the canonical path (its presenter may rename query parameters and body
fields) and routed again: the canonical route runs with its own dependencies, API-key scope and
errors; the presenter then reshapes the answer (a list envelope, camelCase, an error's words).

``install`` also sets the path rules every seed needs (shared/CONTRACT.md 2.1):

- no trailing-slash redirect: ``POST /api/v1/tasks/`` is served as ``/api/v1/tasks`` (002
  writes its paths so, and plain ``curl -X POST`` does not follow a 307);
- a path parameter declared ``UUID`` matches only a UUID, optionally prefixed as DevFlow writes
  it (``task-<uuid>``): ``/tasks/stats`` can never be taken for an id, and a non-UUID id is a
  404 with the resource's not-found code, not a 422.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode
from uuid import UUID

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.convertors import Convertor, register_url_convertor
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match, Route, WebSocketRoute, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.error import NotFound
from interfaces.api.asgi_body import read_body, replay
from interfaces.api.errors import error_body, error_response

UUID_TEXT = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class PrefixedUUID(Convertor[UUID]):
    """A UUID in a path, bare or with a DevFlow prefix (``task-<uuid>``, ``agent-<uuid>``)."""

    regex = f"(?:[a-z]+-)?{UUID_TEXT}"

    def convert(self, value: str) -> UUID:
        return UUID(value[-36:])

    def to_string(self, value: UUID) -> str:
        return str(value)


register_url_convertor("prefixed_uuid", PrefixedUUID())


@dataclass(frozen=True)
class Exchange:
    """What a presenter may look at: the seed request's scope and its query parameters."""

    scope: Scope
    query: Mapping[str, str]


@dataclass(frozen=True)
class Presenter:
    """How a seed's shape differs from the canonical one; every part is optional.

    ``query`` renames query parameters, ``body`` turns the seed's JSON body into the canonical
    one (it may raise ``Refused``), ``answer`` turns a canonical 2xx JSON answer into the seed's,
    ``error`` a canonical error body into the seed's (and may change its status).
    ``any_content_type`` reads the body as JSON whatever its Content-Type (flow8's curl sends
    JSON labelled as a form). ``status`` is the seed's success status where it differs
    (Behflow's execute: 200, not 202); ``location`` rewrites the prefix of a ``Location``
    header (canonical, seed). ``document`` edits the alias's OpenAPI operation (a copy of the
    canonical one) where the seed's parameters or answer differ.
    """

    query: Callable[[list[tuple[str, str]], Exchange], list[tuple[str, str]]] | None = None
    body: Callable[[Any, Exchange], Any] | None = None
    answer: Callable[[Any, Exchange], Any] | None = None
    error: Callable[[int, dict[str, Any], Exchange], tuple[int, dict[str, Any]]] | None = None
    any_content_type: bool = False
    status: int | None = None
    location: tuple[str, str] | None = None
    document: Callable[[dict[str, Any]], None] | None = None

    def reshapes(self, status: int) -> bool:
        """Whether an answer of ``status`` passes through this presenter."""
        return (self.answer if status < 400 else self.error) is not None


class Refused(Exception):
    """Raised by a presenter's ``body``: the seed refuses what the canonical model accepts
    (DevFlow's required ``agentId``). Answered as the canonical 422 with these ``errors``,
    then through the presenter's ``error``."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("invalid request")
        self.errors = errors


PLAIN = Presenter()


@dataclass(frozen=True)
class Alias:
    """``method path`` of a seed, served by the canonical route at ``to``.

    ``method`` is an HTTP method or ``WS``; ``path`` and ``to`` have the same parameters, by
    name, or in the same order where the seed names them its own way (flow8's ``{id}`` for
    ``{flow_id}``). ``to_method`` is the canonical route's method where the seed's differs
    (flow8's ``DELETE /api/plays/:id`` cancels: ``POST /api/v1/runs/{run_id}/cancel``).
    """

    method: str
    path: str
    to: str
    presenter: Presenter = field(default=PLAIN)
    to_method: str | None = None

    @property
    def canonical_method(self) -> str:
        """The method of the canonical route that serves this alias."""
        return self.to_method or self.method

    def names(self) -> dict[str, str]:
        """Each path parameter of the seed's path -> the canonical route's name for it."""
        seed, canonical = _params(self.path), _params(self.to)
        if set(seed) == set(canonical):
            return {name: name for name in seed}
        if len(seed) != len(canonical):
            raise ValueError(f"alias {self.path} and {self.to} have other parameters")
        return dict(zip(seed, canonical, strict=True))

    def route(self) -> BaseRoute:
        """The route that serves this alias (placed after every canonical route)."""
        if self.path == self.to:
            raise ValueError(f"alias {self.path} points at itself")
        if self.method == "WS":
            return WebSocketRoute(self.path, _Rewrite(self))
        return _AliasRoute(
            self.path, _Rewrite(self), methods=[self.method], include_in_schema=False
        )


def _params(path: str) -> list[str]:
    return re.findall(r"\{(\w+)", path)


class _AliasRoute(Route):
    """An alias matches its own method only: another method at the same path is not a 405 but
    whatever the path rules say (``POST /api/v1/tasks/`` beside 002's ``GET /api/v1/tasks/``)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is Match.FULL:
            child["route"] = self  # as FastAPI's routes do: metrics and logs name the seed path
        return (Match.NONE, {}) if match is Match.PARTIAL else (match, child)


def target(template: str, params: Mapping[str, Any]) -> str:
    """``template`` with its ``{name}`` parameters filled in."""
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(params[m.group(1)]), template)


def rerouted(scope: Scope, path: str, query: bytes | None = None) -> Scope:
    """``scope`` as a fresh request for ``path`` (routed again from the top of the router)."""
    # What routing put in the scope (the matched route, its parameters, FastAPI's own routing
    # state) is dropped: the router sets it again for the new path.
    routed = ("route", "path_params", "endpoint", "fastapi")
    new = {k: v for k, v in scope.items() if k not in routed}
    new["path"] = path
    new["raw_path"] = path.encode()
    if query is not None:
        new["query_string"] = query
    return new


class _Rewrite:
    """The ASGI app of one alias route: rewrite, route again, present the answer."""

    def __init__(self, alias: Alias) -> None:
        self.alias = alias
        self.presenter = alias.presenter
        self.names = alias.names()
        found = self.presenter
        self.presents = any((found.answer, found.error, found.status, found.location))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        presenter = self.presenter
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        exchange = Exchange(scope, dict(query))
        given = scope.get("path_params", {})
        path = target(self.alias.to, {self.names[k]: v for k, v in given.items()})
        encoded = None
        if presenter.query is not None:
            encoded = urlencode(presenter.query(query, exchange)).encode()
        new = rerouted(scope, path, encoded)
        if self.alias.to_method is not None:
            new["method"] = self.alias.to_method
        if scope["type"] == "http" and self.presents:
            send = _PresentingSend(send, presenter, exchange)
        if scope["type"] == "http" and (presenter.body or presenter.any_content_type):
            try:
                receive = await self._body(new, receive, exchange)
            except Refused as refused:
                body = error_body(422, "VALIDATION_ERROR", "invalid request", errors=refused.errors)
                await JSONResponse(body, 422)(scope, receive, send)
                await _flush(send)
                return
        await scope["router"](new, receive, send)
        await _flush(send)

    async def _body(self, scope: Scope, receive: Receive, exchange: Exchange) -> Receive:
        raw = await read_body(receive)
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"content-length",)]
        if self.presenter.any_content_type and raw:
            headers = [(k, v) for k, v in headers if k != b"content-type"]
            headers.append((b"content-type", b"application/json"))
        if self.presenter.body is not None and raw:
            try:
                document = json.loads(raw)
            except ValueError:
                document = None  # the canonical route answers its own 400 for malformed JSON
            if document is not None:
                raw = json.dumps(self.presenter.body(document, exchange)).encode()
        headers.append((b"content-length", str(len(raw)).encode()))
        scope["headers"] = headers
        return replay(raw, receive)


async def _flush(send: Send) -> None:
    if isinstance(send, _PresentingSend):
        await send.flush()


class _PresentingSend:
    """Buffers a JSON answer the presenter reshapes, and passes every other answer through."""

    def __init__(self, send: Send, presenter: Presenter, exchange: Exchange) -> None:
        self.send = send
        self.presenter = presenter
        self.exchange = exchange
        self.start: Message | None = None
        self.chunks: list[bytes] = []

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            status = message["status"]
            if status < 400:
                message = self._success(message)
            if self.presenter.reshapes(status) and _is_json(message.get("headers", [])):
                self.start = message
                return
        elif message["type"] == "http.response.body" and self.start is not None:
            self.chunks.append(message.get("body", b""))
            return
        await self.send(message)

    def _success(self, start: Message) -> Message:
        """The seed's success status and Location."""
        status = self.presenter.status or start["status"]
        moved = self.presenter.location
        headers = start.get("headers", [])
        if moved is not None:
            canonical, seed = (prefix.encode() for prefix in moved)
            headers = [
                (k, seed + v[len(canonical) :])
                if k.lower() == b"location" and v.startswith(canonical)
                else (k, v)
                for k, v in headers
            ]
        return {**start, "status": status, "headers": headers}

    async def flush(self) -> None:
        """Send the buffered answer, reshaped."""
        if self.start is None:
            return
        status, raw = self.start["status"], b"".join(self.chunks)
        document = json.loads(raw) if raw else None
        if status < 400 and self.presenter.answer is not None:
            document = self.presenter.answer(document, self.exchange)
        elif self.presenter.error is not None and isinstance(document, dict):
            status, document = self.presenter.error(status, document, self.exchange)
        body = json.dumps(document, separators=(",", ":")).encode()
        headers = [
            (k, v) for k, v in self.start.get("headers", []) if k.lower() != b"content-length"
        ]
        headers.append((b"content-length", str(len(body)).encode()))
        await self.send({**self.start, "status": status, "headers": headers})
        await self.send({"type": "http.response.body", "body": body})


def _is_json(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    return any(k.lower() == b"content-type" and b"json" in v for k, v in headers)


def _uuid_params(dependant: Dependant) -> list[str]:
    """The path parameters declared ``UUID`` by a route or any of its dependencies."""
    found = [p.name for p in dependant.path_params if p.field_info.annotation is UUID]
    for sub in dependant.dependencies:
        found.extend(name for name in _uuid_params(sub) if name not in found)
    return found


def not_found_for(name: str, raw: str) -> NotFound:
    """The not-found error of the resource a path parameter names (``task_id`` -> tasks)."""
    kind = name.removesuffix("_id")
    pending: list[type[NotFound]] = [NotFound]
    while pending:
        cls = pending.pop()
        if cls.kind == kind:
            return cls(raw)
        pending.extend(cls.__subclasses__())
    return NotFound(raw)


class PathRules:
    """The router's default app: trailing slashes, and 404 for ids that are not UUIDs."""

    def __init__(self, fallback: ASGIApp) -> None:
        self.fallback = fallback
        self.loose: list[tuple[re.Pattern[str], list[str]]] = []

    def strict_ids(self, route: APIRoute) -> None:
        """Make ``route``'s UUID parameters match only UUIDs; remember its loose form.

        Done on the route object before the app is first called, so that FastAPI builds its
        matcher from the strict path; idempotent (routers are module objects shared by apps)."""
        names = _uuid_params(route.dependant)
        if not names:
            return
        loose = re.sub(r":prefixed_uuid\}", "}", route.path)
        self.loose.append((compile_path(loose)[0], names))
        route.path = re.sub(
            r"\{(" + "|".join(names) + r")\}", lambda m: f"{{{m.group(1)}:prefixed_uuid}}", loose
        )
        route.path_regex, route.path_format, route.param_convertors = compile_path(route.path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            await scope["router"](rerouted(scope, path.rstrip("/") or "/"), receive, send)
            return
        for regex, names in self.loose:
            found = regex.match(path)
            if found is not None and scope["type"] == "http":
                bad = [n for n in names if not re.fullmatch(PrefixedUUID.regex, found[n])]
                if not bad:
                    continue
                error = not_found_for(bad[0], found[bad[0]])
                await error_response(404, error.code, str(error))(scope, receive, send)
                return
        await self.fallback(scope, receive, send)


def install(app: FastAPI, routers: Iterable[APIRouter], aliases: Iterable[Alias]) -> None:
    """Include ``routers`` in ``app`` under the path rules, then the aliases' routes after them."""
    router = app.router
    router.redirect_slashes = False
    rules = PathRules(router.default)
    for included in routers:
        for route in included.routes:
            if isinstance(route, APIRoute):
                rules.strict_ids(route)
        app.include_router(included)
    router.default = rules
    router.routes.extend(alias.route() for alias in aliases)
