"""Signed cookies for the web pages: the sign-in session, one-shot flash messages, the language.

The session cookie holds the login token issued by ``services.accounts.login`` (the same
tokens as the API, stored hashed in the database), signed with ``settings.secret_key``.
Nothing lives in process memory, so any number of workers serve the same person.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu import i18n
from tierslieu.errors import Unauthenticated
from tierslieu.models import Membership, Structure, User
from tierslieu.services.accounts import memberships_of, user_for_token
from tierslieu.settings import Settings

SESSION_COOKIE = "tl_session"
FLASH_COOKIE = "tl_flash"
LANG_COOKIE = "tl_lang"


def _key(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), f"tierslieu-web:{purpose}".encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: str, purpose: str, payload: dict[str, Any]) -> str:
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    mac = hmac.new(_key(secret, purpose), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def unsign(secret: str, purpose: str, value: str | None) -> dict[str, Any] | None:
    """The payload of a cookie we signed, or None for anything else (tampered, foreign)."""
    if not value or "." not in value:
        return None
    body, _, mac = value.rpartition(".")
    expected = _b64(hmac.new(_key(secret, purpose), body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(mac, expected):
        return None
    try:
        payload = json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def is_https(request: Request[Any, Any, Any], settings: Settings) -> bool:
    return request.url.scheme == "https" or settings.public_url.startswith("https://")


def cookie(
    request: Request[Any, Any, Any],
    settings: Settings,
    key: str,
    value: str,
    max_age: int | None,
) -> Cookie:
    """Every web cookie: HttpOnly, SameSite=Lax, Secure when served over https."""
    return Cookie(
        key=key,
        value=value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request, settings),
    )


def session_cookie(request: Request[Any, Any, Any], settings: Settings, token: str) -> Cookie:
    value = sign(settings.secret_key, "session", {"t": token})
    return cookie(request, settings, SESSION_COOKIE, value, settings.token_ttl_hours * 3600)


def cleared(request: Request[Any, Any, Any], settings: Settings, key: str) -> Cookie:
    return cookie(request, settings, key, "", 0)


def flash_cookie(
    request: Request[Any, Any, Any], settings: Settings, message: str, **extra: Any
) -> Cookie:
    value = sign(settings.secret_key, "flash", {"m": message, **extra})
    return cookie(request, settings, FLASH_COOKIE, value, 300)


def session_token(request: Request[Any, Any, Any], settings: Settings) -> str | None:
    payload = unsign(settings.secret_key, "session", request.cookies.get(SESSION_COOKIE))
    token = payload.get("t") if payload else None
    return token if isinstance(token, str) else None


def language_of(request: Request[Any, Any, Any]) -> str:
    """French unless the person chose English with the language link."""
    chosen = request.cookies.get(LANG_COOKIE, "")
    return i18n.choose(chosen)


@dataclass
class Viewer:
    """Who looks at the page, in which language."""

    user: User | None
    token: str | None
    lang: str
    settings: Settings
    memberships: list[tuple[Membership, Structure]] = field(default_factory=list)

    @property
    def staff_structures(self) -> list[Structure]:
        return [s for m, s in self.memberships if m.role in {"manager", "staff", "kitchen"}]

    def role_in(self, structure: Structure) -> str | None:
        if self.user is not None and self.user.is_admin:
            return "manager"
        return next((m.role for m, s in self.memberships if s.id == structure.id), None)


async def provide_viewer(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> Viewer:
    settings: Settings = request.app.state.settings
    token = session_token(request, settings)
    user = await user_for_token(db_session, token) if token else None
    memberships = await memberships_of(db_session, user) if user else []
    # Detached snapshots: a service that rolls back (a refused booking) must not expire
    # what the page still shows (name, memberships).
    for obj in [user, *(x for pair in memberships for x in pair)]:
        if obj is not None and obj in db_session:
            db_session.expunge(obj)
    return Viewer(
        user=user,
        token=token if user else None,
        lang=language_of(request),
        settings=settings,
        memberships=memberships,
    )


@dataclass
class SignedIn(Viewer):
    """A viewer who is signed in: ``user`` is never None."""

    user: User


async def provide_signed_in(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> SignedIn:
    """The ``viewer`` of a page for signed-in people only. Anyone else gets
    ``Unauthenticated``, which the pages answer with the sign-in page (``next=`` this page)."""
    viewer = await provide_viewer(request, db_session)
    if viewer.user is None:
        raise Unauthenticated()
    return SignedIn(
        user=viewer.user,
        token=viewer.token,
        lang=viewer.lang,
        settings=viewer.settings,
        memberships=viewer.memberships,
    )


# ``dependencies=SIGNED_IN`` on a controller or a handler: its ``viewer`` is a ``SignedIn``.
SIGNED_IN = {"viewer": Provide(provide_signed_in)}
