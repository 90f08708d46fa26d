"""Idempotency-Key for writes (IETF httpapi draft, Stripe's practice).

A retry with the same key and the same request gets the stored response without
acting twice; the same key with another request is 422; while the first request
still runs, 409. Keys are scoped per caller and expire after 24 hours.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from tierslieu.db import insert_for
from tierslieu.errors import DomainError
from tierslieu.i18n import N_
from tierslieu.models import IdempotencyKey, User
from tierslieu.services.clock import utcnow

KEY_LIFETIME = dt.timedelta(hours=24)
# A claim left "running" this long belongs to a request whose process died: retake it.
ABANDONED_AFTER = dt.timedelta(minutes=2)
MAX_KEY_LENGTH = 255


class InvalidIdempotencyKey(DomainError):
    code = "invalid-idempotency-key"
    status = 400
    title = N_("Clé d'idempotence invalide")
    detail = N_("L'en-tête Idempotency-Key doit faire 1 à 255 caractères ASCII visibles.")


class IdempotencyKeyReused(DomainError):
    code = "idempotency-key-reused"
    status = 422
    title = N_("Clé d'idempotence déjà utilisée")
    detail = N_("Cette clé a déjà servi pour une autre requête ; utilisez une nouvelle clé.")


class IdempotentRequestInProgress(DomainError):
    code = "request-in-progress"
    status = 409
    title = N_("Requête en cours")
    detail = N_("La même requête est encore en cours de traitement ; réessayez dans un instant.")

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": "1"})


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: bytes
    replayed: bool


def check_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(33 <= ord(c) <= 126 for c in key):
        raise InvalidIdempotencyKey()
    return key


def fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


async def run_once(
    session: AsyncSession,
    user: User,
    key: str,
    request_fingerprint: str,
    write: Callable[[], Awaitable[tuple[int, bytes]]],
    kept: Callable[[bytes], bytes] | None = None,
) -> StoredResponse:
    """Run ``write`` at most once per (caller, key).

    ``write`` must perform its changes on ``session`` WITHOUT committing and return the
    response (status, body); the stored response is committed with those changes. If
    ``write`` raises, nothing is stored and the key may be used again. ``kept(body)`` is
    what is stored for replays when the body holds a secret shown once (a voucher code):
    the first caller gets the whole body, the table never holds the secret.
    """
    check_key(key)
    now = utcnow()
    claimed = await _claim(session, user.id, key, request_fingerprint, now)
    if isinstance(claimed, StoredResponse):
        return claimed
    try:
        status, body = await write()
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.id == claimed)
            .values(
                state="done",
                response_status=status,
                response_body=kept(body) if kept else body,
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        await session.commit()
    except BaseException:
        await session.rollback()
        await session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == claimed))
        await session.commit()
        raise
    return StoredResponse(status, body, replayed=False)


async def _claim(
    session: AsyncSession, user_id: uuid.UUID, key: str, request_fingerprint: str, now: dt.datetime
) -> uuid.UUID | StoredResponse:
    """Commit a 'running' claim for the key, or return what a previous request stored."""
    await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.expires_at <= now
        )
    )
    claim_id = uuid7()  # the table's own kind of id, known before the insert
    result = await session.execute(
        insert_for(session)(IdempotencyKey)
        .values(
            id=claim_id,
            user_id=user_id,
            key=key,
            fingerprint=request_fingerprint,
            state="running",
            expires_at=now + KEY_LIFETIME,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(IdempotencyKey.id)
    )
    inserted = result.first()
    if inserted is not None:
        await session.commit()
        return claim_id
    existing = await session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    )
    if existing is None:  # expired and removed by another request in between
        await session.rollback()
        return await _claim(session, user_id, key, request_fingerprint, now)
    if existing.fingerprint != request_fingerprint:
        await session.rollback()
        raise IdempotencyKeyReused()
    if existing.state == "done":
        stored = StoredResponse(
            existing.response_status or 200, existing.response_body or b"", replayed=True
        )
        await session.rollback()
        return stored
    if existing.updated_at < now - ABANDONED_AFTER:
        taken = await session.execute(
            update(IdempotencyKey)
            .where(
                IdempotencyKey.id == existing.id,
                IdempotencyKey.state == "running",
                IdempotencyKey.updated_at == existing.updated_at,
            )
            .values(updated_at=now)
            .returning(IdempotencyKey.id)
            .execution_options(synchronize_session=False)
        )
        if taken.first() is not None:
            await session.commit()
            return existing.id
    await session.rollback()
    raise IdempotentRequestInProgress()
