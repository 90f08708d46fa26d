"""Security headers of every response, set in one place (a ``before_send`` hook wired by app.py).

The hook sees every response the application sends: pages, sheets, the API, problem details,
error pages, 404s of unknown paths, static files, the OpenAPI pages and the calendar feeds.

- ``X-Content-Type-Options: nosniff`` and ``X-Frame-Options: DENY`` on every response.
- ``Content-Security-Policy``: HTML gets ``PAGE_POLICY`` (only same-origin resources, no inline
  script or style, never framed); anything else gets ``DATA_POLICY`` (loads nothing).
- ``Referrer-Policy``: ``no-referrer`` where the URL or the page can hold a secret (feed URLs,
  a one-time feed link or voucher code), ``same-origin`` elsewhere (another site never learns
  which page a person came from).
- Over https (the request's scheme, which uvicorn takes from ``X-Forwarded-Proto`` of a trusted
  proxy), every cookie is ``Secure``, the CSRF cookie set by Litestar included.
"""

from __future__ import annotations

import re

from litestar.types import Message, Scope

PAGE_POLICY = (
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'"
)
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# Server-drawn charts (pygal) style themselves with an inline <style>; still no script.
SVG_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
)

# Paths whose URL holds a token, or whose page may show a one-time secret.
NO_REFERRER_PATHS = re.compile(
    r"^/(?:ical/|mes-reservations|structures/|api/me/feed-token|api/structures/[^/]+/feed-token"
    r"|mot-de-passe/nouveau/|confirmer-adresse/|desabonnement/)"
)

_SET_COOKIE = b"set-cookie"
_REPLACED = frozenset(
    {
        b"content-security-policy",
        b"x-content-type-options",
        b"x-frame-options",
        b"referrer-policy",
    }
)


def referrer_policy(path: str) -> str:
    return "no-referrer" if NO_REFERRER_PATHS.match(path) else "same-origin"


def _secure_cookie(value: bytes) -> bytes:
    attributes = {part.strip().lower() for part in value.split(b";")[1:]}
    return value if b"secure" in attributes else value + b"; Secure"


async def security_headers(message: Message, scope: Scope) -> None:
    """Add (or replace) the security headers on the start of every HTTP response."""
    if message["type"] != "http.response.start":
        return
    https = scope.get("scheme") == "https"
    headers: list[tuple[bytes, bytes]] = []
    content_type = b""
    for name, value in message.get("headers", ()):
        lowered = name.lower()
        if lowered in _REPLACED:
            continue
        if lowered == b"content-type":
            content_type = value.lower()
        if https and lowered == _SET_COOKIE:
            value = _secure_cookie(value)
        headers.append((name, value))
    if content_type.startswith(b"text/html"):
        policy = PAGE_POLICY
    elif content_type.startswith(b"image/svg+xml"):
        policy = SVG_POLICY
    else:
        policy = DATA_POLICY
    headers += [
        (b"content-security-policy", policy.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", referrer_policy(scope.get("path", "")).encode()),
    ]
    message["headers"] = headers
