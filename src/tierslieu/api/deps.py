"""Request dependencies: settings, the caller, the language."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu import i18n
from tierslieu.errors import Unauthenticated
from tierslieu.models import User
from tierslieu.services.accounts import user_for_token
from tierslieu.settings import Settings


def bearer_token_of(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def provide_caller(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> User | None:
    """The signed-in person, or None for an anonymous request. A bad token is a 401."""
    token = bearer_token_of(request)
    if token is None:
        return None
    user = await user_for_token(db_session, token)
    if user is None:
        raise Unauthenticated()
    return user


async def provide_user(caller: NamedDependency[User | None]) -> User:
    if caller is None:
        raise Unauthenticated()
    return caller


def provide_settings(request: Request[Any, Any, Any]) -> Settings:
    return request.app.state.settings


def request_session(request: Request[Any, Any, Any]) -> AsyncSession:
    """The request's ORM session, made on first use exactly as the ``db_session`` dependency
    makes it, and ended by the same before-send handler (committed or rolled back, closed).
    For a hot handler whose common path needs no session: naming ``db_session`` beside
    another dependency makes Litestar resolve them together in an anyio task group, a task
    each, about a sixth of a booking's CPU (benchmarks/README.md, sixth pass)."""
    state = request.app.state
    return state.session_config.provide_session(state, request.scope)


def provide_lang(request: Request[Any, Any, Any]) -> str:
    return i18n.negotiate(request.headers.get("accept-language"))


DEPENDENCIES = {
    "settings": Provide(provide_settings, sync_to_thread=False),
    "caller": Provide(provide_caller),
    "user": Provide(provide_user),
    "lang": Provide(provide_lang, sync_to_thread=False),
}

# Shared bounds for list endpoints.
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50
