"""« À prévenir par téléphone » in the API: a structure's pending phone notices and the
« Prévenu·e » tick (``services/phone_notices.py``)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.models import User
from tierslieu.services import phone_notices
from tierslieu.settings import Settings


class PhoneNoticeOut(msgspec.Struct):
    id: uuid.UUID
    kind: str
    label: str
    name: str | None
    phone: str
    created_at: dt.datetime
    # What to say: the message's text in the person's language.
    say: str


class StructurePhoneNoticeController(Controller):
    path = "/api/structures/{slug:str}/phone-notices"
    tags = ["notifications"]

    @get("/", summary="Pending phone notices of a structure (staff)")
    async def list_notices(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        lang: NamedDependency[str],
        user: NamedDependency[User],
        slug: FromPath[str],
        limit: Annotated[int, QueryParameter(ge=1, le=phone_notices.MAX_LISTED)] = 50,
    ) -> list[PhoneNoticeOut]:
        """People with a phone and no e-mail, to call: oldest first, at most 50. Staff of
        the structure (manager, staff) and platform admins; 403 for others."""
        _structure, notices = await phone_notices.pending_notices(
            db_session, user, slug, settings, lang, limit=limit
        )
        return [
            PhoneNoticeOut(
                id=n.id,
                kind=n.kind,
                label=n.label,
                name=n.name,
                phone=n.phone,
                created_at=n.created_at,
                say=n.say,
            )
            for n in notices
        ]


class PhoneNoticeController(Controller):
    path = "/api/phone-notices"
    tags = ["notifications"]

    @post(
        "/{notice_id:uuid}/called",
        status_code=HTTP_204_NO_CONTENT,
        summary="Record that the person was called (« Prévenu·e »)",
    )
    async def called(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[User],
        notice_id: FromPath[uuid.UUID],
    ) -> None:
        """Records who called and when. 404 unless it is a phone notice of a structure
        where the caller is staff; 409 ``already-called`` if someone already ticked it."""
        await phone_notices.mark_called(db_session, user, notice_id)
