"""The HTTP client of ``http`` steps: httpx behind the webhooks' SSRF guard.

Every call checks the URL again (a templated URL is only known now, and DNS can change), follows
no redirect (a redirect could lead to a private address the guard never saw) and ignores proxy
settings from the environment, like webhook deliveries.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import httpx

from application.step_types import HttpAnswer, HttpRequest
from interfaces.adapters.webhook_guard import check_url


class GuardedHttp:
    """Makes the call an ``http`` step describes, refusing URLs the SSRF guard refuses."""

    def __init__(self, allowed_hosts: Sequence[str]) -> None:
        self._allowed = list(allowed_hosts)

    def __call__(self, request: HttpRequest) -> HttpAnswer:
        """Check the URL, send the request, answer its status and text."""
        check_url(request.url, self._allowed)
        body = request.body
        content = None
        headers = dict(request.headers)
        if body is not None and not isinstance(body, str | bytes):
            content = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif body is not None:
            content = body.encode() if isinstance(body, str) else body
        with httpx.Client(follow_redirects=False, timeout=request.timeout, trust_env=False) as c:
            answer = c.request(request.method, request.url, headers=headers, content=content)
        return HttpAnswer(answer.status_code, answer.text)
