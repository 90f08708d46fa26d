"""Reading the outbox and account links in tests (real database, no mocks)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from tests.conftest import run_db
from tierslieu.models import OutboxMessage
from tierslieu.settings import Settings


def outbox_rows(settings: Settings, kind: str | None = None, **where: Any) -> list[OutboxMessage]:
    async def _read(session: Any) -> list[OutboxMessage]:
        query = select(OutboxMessage).order_by(OutboxMessage.created_at, OutboxMessage.id)
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return list((await session.scalars(query)).all())

    return run_db(settings, _read)


def clear_outbox(settings: Settings) -> None:
    """Start from an empty outbox (the world's registrations queued confirmations)."""

    async def _clear(session: Any) -> None:
        await session.execute(delete(OutboxMessage))
        await session.commit()

    run_db(settings, _clear)


def token_of(link: str) -> str:
    return link.rstrip("/").rsplit("/", 1)[1]


def last_link(settings: Settings, kind: str, email: str) -> str:
    rows = outbox_rows(settings, kind, email=email)
    assert rows, f"no {kind} message for {email}"
    return str(rows[-1].params["link"])
