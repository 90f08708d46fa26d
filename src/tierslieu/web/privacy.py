"""The public page « Données personnelles » (/confidentialite): what is kept, why, how long."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from tierslieu.services.personal_data import LOGIN_FAILURE_KEEP_FACTOR
from tierslieu.web import text
from tierslieu.web.pages import page
from tierslieu.web.session import Viewer


class PrivacyPage(Controller):
    path = "/"
    include_in_schema = False

    @get("/confidentialite", summary="Personal data: what is kept, why, how long (web)")
    async def privacy(
        self, request: Request[Any, Any, Any], viewer: NamedDependency[Viewer]
    ) -> Template:
        """In the viewer's language (the header's language switch); linked from every footer."""
        _ = text.translator(viewer.lang)
        settings = viewer.settings
        return page(
            request,
            viewer,
            "privacy.html",
            title=_("Données personnelles"),
            retention_days=settings.retention_days,
            token_days=max(1, settings.token_ttl_hours // 24),
            failure_minutes=settings.login_failure_window_minutes * LOGIN_FAILURE_KEEP_FACTOR,
        )
