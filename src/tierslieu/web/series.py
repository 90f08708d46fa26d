"""Recurring bookings in the pages: the person cancels one occurrence and the following ones.

(Booking a series and cancelling a whole one are API-only for now: ``api/series.py``.)
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.services import series
from tierslieu.web import text
from tierslieu.web.pages import read_form, redirect, refusals_to, safe_next
from tierslieu.web.session import SIGNED_IN, SignedIn


class SeriesPages(Controller):
    path = "/"

    @post(
        "/mes-reservations/{booking_id:uuid}/annuler-suivantes",
        summary="Cancel this occurrence of my series and the following ones (web)",
        dependencies=SIGNED_IN,
    )
    async def cancel_following(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[SignedIn],
        booking_id: FromPath[uuid.UUID],
    ) -> Redirect:
        """Places freed in one transaction; occurrences past their deadline stay booked."""
        _ = text.translator(viewer.lang)
        form = await read_form(request)
        back = safe_next(str(form.get("back", "")), "/mes-reservations")
        with refusals_to(back):
            done = await series.cancel_from_booking(db_session, viewer.user, booking_id)
        n = len(done.cancelled)
        return redirect(
            request,
            viewer,
            back,
            _.ngettext("{n} séance annulée.", "{n} séances annulées.", n),
        )
