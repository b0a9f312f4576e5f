"""flow8's session cookie: the access token in an HttpOnly, SameSite=Lax cookie.

``POST /api/auth/login`` sets it; ``deps.current_principal`` reads it only when a request has no
``Authorization`` header. A cookie is sent by the browser on its own, so a request that changes
something (any method but GET, HEAD, OPTIONS) and is authenticated by the cookie must come from
the same origin: its ``Origin`` (or, without one, its ``Referer``) must name this host. That
refuses cross-site request forgery; SameSite=Lax already keeps the cookie off cross-site POSTs
in current browsers.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request, Response

from application.error import NotAllowed

COOKIE = "ledgerflow_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CrossSiteRequest(NotAllowed):
    """A cookie-authenticated change that does not come from this origin."""

    def __init__(self) -> None:
        super().__init__(
            "A request authenticated by the session cookie must come from this origin"
            " (send Origin or Referer), or use an Authorization header"
        )


def set_session(response: Response, request: Request, token: str, max_age: int) -> None:
    """Give the client the session cookie holding ``token``."""
    response.set_cookie(
        COOKIE,
        token,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear_session(response: Response, request: Request) -> None:
    """Remove the session cookie."""
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )


def cookie_token(request: Request) -> str | None:
    """The access token of the session cookie, checked for CSRF; None without a cookie."""
    token = request.cookies.get(COOKIE)
    if token is None:
        return None
    if request.method not in SAFE_METHODS and not same_origin(request):
        raise CrossSiteRequest()
    return token


def same_origin(request: Request) -> bool:
    """Whether the request's Origin (else Referer) names the host it was sent to."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return False
    return urlsplit(source).netloc.lower() == request.headers.get("host", "").lower()
