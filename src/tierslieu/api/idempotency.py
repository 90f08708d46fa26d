"""Wrap a write handler so it honours the Idempotency-Key header."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.errors import DomainError
from tierslieu.models import User
from tierslieu.services import idempotency

HEADER = "idempotency-key"
Write = Callable[[bool], Awaitable[tuple[int, msgspec.Struct]]]


@dataclass(frozen=True, slots=True)
class ShownOnce:
    """A response member shown to the first caller only (a voucher code).

    It is blanked in the stored answer (the key table never holds it), and a replay is
    refused with ``refusal(stored answer)`` instead of serving an answer without it.
    """

    member: str
    refusal: Callable[[dict[str, Any]], DomainError]

    def blank(self, body: bytes) -> bytes:
        data = msgspec.json.decode(body)
        data[self.member] = None
        return msgspec.json.encode(data)


async def respond_once(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    user: User,
    write: Write,
    shown_once: ShownOnce | None = None,
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
    stored = await idempotency.run_once(
        db_session,
        user,
        key,
        request_fingerprint,
        _write,
        kept=shown_once.blank if shown_once else None,
    )
    if stored.replayed and shown_once is not None:
        raise shown_once.refusal(msgspec.json.decode(stored.body))
    headers = {"Idempotent-Replayed": "true"} if stored.replayed else {}
    return Response(
        stored.body, status_code=stored.status, media_type="application/json", headers=headers
    )
