"""What every request must be before any route sees it: small, of a declared type, storable.

One ASGI middleware, so that no route can forget it:

- a body over ``LEDGERFLOW_MAX_BODY_BYTES`` answers 413 before it is parsed (the declared
  ``Content-Length`` is refused at once; a chunked body is counted while it is read);
- a body on a JSON route that is not ``application/json`` (or ``+json``) answers 415, and on a
  form route one that is not ``application/x-www-form-urlencoded``;
- a JSON body with a duplicate key in an object answers 422 (which value wins is a parser detail
  an attacker could exploit between two readers);
- every string of a JSON body or a form (keys and values), and of the query string, is refused
  with 422 when it holds a character PostgreSQL ``text``/``jsonb`` cannot store (U+0000), a lone
  surrogate (not encodable as UTF-8) or another control character than tab, newline or carriage
  return. Such a string once reached the event log and stopped the projections for everybody.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import parse_qsl

from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from interfaces.api.asgi_body import replay
from interfaces.api.errors import error_response

FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
JSON_TYPES = ("application/json",)
FORM_TYPE = "application/x-www-form-urlencoded"


class RefusedRequest(Exception):
    """The request breaks one of the rules above; carries the answer."""

    def __init__(self, status: int, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.extra = status, code, detail, extra


def _invalid(loc: list[str | int], kind: str, msg: str) -> RefusedRequest:
    where = ".".join(str(part) for part in loc[1:]) or loc[0]
    errors = [{"loc": loc, "msg": msg, "type": kind}]
    return RefusedRequest(422, "VALIDATION_ERROR", f"Invalid {where}: {msg}", errors=errors)


def check_text(value: str, loc: list[str | int]) -> None:
    """422 when ``value`` holds a character that cannot be stored (see the module docstring)."""
    found = FORBIDDEN.search(value)
    if found is not None:
        code = f"U+{ord(found.group()):04X}"
        raise _invalid(loc, "forbidden_character", f"must not contain the character {code}")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _invalid(["body", key], "duplicate_key", "the key appears more than once")
            seen.add(key)
    return found


def check_json(body: bytes) -> None:
    """Refuse malformed JSON (400), duplicate keys and unstorable strings (422)."""
    try:
        document = json.loads(body, object_pairs_hook=_unique_keys)
    except RefusedRequest:
        raise
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser goes
        raise RefusedRequest(400, "MALFORMED_JSON", "The request body is not valid JSON") from None
    # Walked without recursion: a body may nest thousands of levels deep.
    pending: list[tuple[Any, list[str | int]]] = [(document, ["body"])]
    while pending:
        value, loc = pending.pop()
        if isinstance(value, str):
            check_text(value, loc)
        elif isinstance(value, dict):
            for key, item in value.items():
                check_text(key, [*loc, key])
                pending.append((item, [*loc, key]))
        elif isinstance(value, list):
            pending.extend((item, [*loc, index]) for index, item in enumerate(value))


def check_pairs(pairs: Iterable[tuple[str, str]], where: str) -> None:
    """Refuse unstorable characters in decoded query or form fields (422)."""
    for name, value in pairs:
        check_text(name, [where, name])
        check_text(value, [where, name])


def media_type(headers: dict[bytes, bytes]) -> str:
    """The media type of ``Content-Type``, lower case, without parameters ('' when absent)."""
    raw = headers.get(b"content-type", b"").decode("latin-1")
    return raw.split(";", 1)[0].strip().lower()


class RequestGuard:
    """ASGI middleware applying the rules of this module to every HTTP request."""

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        schema: Callable[[], dict[str, Any]],
        any_json_paths: Sequence[re.Pattern[str]] = (),
    ) -> None:
        self.app = app
        # Seed paths whose clients send JSON under another Content-Type (flow8's curl lines).
        self._any_json = tuple(any_json_paths)
        self.max_body_bytes = max_body_bytes
        self._schema = schema  # read at the first body: every route is known by then
        self._form_routes: list[re.Pattern[str]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            check_pairs(_query(scope), "query")
            body = await self._body(scope, receive)
            if body:
                self._check_body(scope, body)
        except RefusedRequest as refused:
            response = error_response(refused.status, refused.code, refused.detail, **refused.extra)
            await response(scope, receive, send)
            return
        await self.app(scope, replay(body, receive), send)

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"").decode("latin-1").strip()
        if declared.isascii() and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise self._too_large()
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return b""
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _too_large(self) -> RefusedRequest:
        limit = self.max_body_bytes
        return RefusedRequest(413, "TOO_LARGE", f"The request body exceeds {limit} bytes")

    def _check_body(self, scope: Scope, body: bytes) -> None:
        kind = media_type(dict(scope["headers"]))
        if self._form_routes is None:
            self._form_routes = form_routes(self._schema())
        if any(route.match(scope["path"]) for route in self._form_routes):
            if kind != FORM_TYPE:
                raise RefusedRequest(415, "UNSUPPORTED_MEDIA_TYPE", f"Send {FORM_TYPE}")
            text = body.decode("latin-1")
            check_pairs(parse_qsl(text, keep_blank_values=True, errors="replace"), "body")
            return
        # No Content-Type at all is read as JSON (FastAPI does so); a different one is refused,
        # except on the seed paths whose clients label JSON otherwise.
        lenient = any(path.match(scope["path"]) for path in self._any_json)
        if kind and kind not in JSON_TYPES and not kind.endswith("+json") and not lenient:
            raise RefusedRequest(415, "UNSUPPORTED_MEDIA_TYPE", "Send application/json")
        check_json(body)


def form_routes(schema: dict[str, Any]) -> list[re.Pattern[str]]:
    """The paths whose body is a form rather than JSON, from the app's OpenAPI schema."""
    return [
        compile_path(path)[0]
        for path, operations in schema.get("paths", {}).items()
        for operation in operations.values()
        if FORM_TYPE in operation.get("requestBody", {}).get("content", {})
    ]


def _query(scope: Scope) -> list[tuple[str, str]]:
    raw: bytes = scope.get("query_string", b"")
    if not raw:
        return []
    return parse_qsl(raw.decode("latin-1"), keep_blank_values=True, errors="replace")
