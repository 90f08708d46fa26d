"""« Courriels » (/admin/courriels): the platform admin's view of the e-mail outbox.

The recent messages with their state (kept without SMTP server, pending, sent, failed),
recipient, attempts and last error; the text of a kept message (what the person would
have read). Newest first, a page at a time (never unbounded).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Template
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.domain.notifications import Channel
from tierslieu.errors import Forbidden
from tierslieu.models import OutboxMessage
from tierslieu.web import text
from tierslieu.web.pages import page
from tierslieu.web.session import SIGNED_IN, SignedIn

PAGE_SIZE = 50
MAX_PAGE = 200


class Shown(StrEnum):
    KEPT = "kept"
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class MailPages(Controller):
    path = "/admin/courriels"
    include_in_schema = False
    dependencies = SIGNED_IN

    @get("/", summary="The e-mail outbox (web, platform admin)")
    async def outbox(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        statut: Annotated[Shown | None, QueryParameter()] = None,
        page_number: Annotated[int, QueryParameter(name="page", ge=1, le=MAX_PAGE)] = 1,
    ) -> Template:
        if not viewer.user.is_admin:
            raise Forbidden()
        _ = text.translator(viewer.lang)
        condition = [OutboxMessage.channel == Channel.EMAIL.value]
        if statut is not None:
            condition.append(OutboxMessage.status == statut.value)
        else:
            condition.append(OutboxMessage.status.in_([s.value for s in Shown]))
        rows = list(
            await db_session.scalars(
                select(OutboxMessage)
                .where(*condition)
                .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
                .offset((page_number - 1) * PAGE_SIZE)
                .limit(PAGE_SIZE + 1)
            )
        )
        counts = dict(
            (
                await db_session.execute(
                    select(OutboxMessage.status, func.count())
                    .where(OutboxMessage.channel == Channel.EMAIL.value)
                    .group_by(OutboxMessage.status)
                )
            )
            .tuples()
            .all()
        )
        return page(
            request,
            viewer,
            "courriels.html",
            title=_("Courriels"),
            messages=rows[:PAGE_SIZE],
            has_next=len(rows) > PAGE_SIZE and page_number < MAX_PAGE,
            page_number=page_number,
            statut=statut.value if statut else "",
            statuses=[s.value for s in Shown],
            counts=counts,
            smtp=bool(viewer.settings.smtp_url),
        )
