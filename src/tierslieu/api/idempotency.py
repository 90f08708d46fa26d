"""Wrap a write handler so it honours the Idempotency-Key header."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.models import User
from tierslieu.services import idempotency

HEADER = "idempotency-key"
Write = Callable[[bool], Awaitable[tuple[int, msgspec.Struct]]]


async def respond_once(
    request: Request[Any, Any, Any], db_session: AsyncSession, user: User, write: Write
) -> Response[Any]:
    """Without the header, run ``write(commit=True)``. With it, run at most once and replay."""
    key = request.headers.get(HEADER)
    if key is None:
        status, body = await write(True)
        return Response(body, status_code=status)

    async def _write() -> tuple[int, bytes]:
        status, body = await write(False)
        return status, msgspec.json.encode(body)

    request_fingerprint = idempotency.fingerprint(
        request.method, request.url.path, await request.body()
    )
    stored = await idempotency.run_once(db_session, user, key, request_fingerprint, _write)
    headers = {"Idempotent-Replayed": "true"} if stored.replayed else {}
    return Response(
        stored.body, status_code=stored.status, media_type="application/json", headers=headers
    )
