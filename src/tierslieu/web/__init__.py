"""Server-rendered pages (French first, English available) on top of the same services as the API.

``web_config(settings)`` gives ``app.py`` what it wires: the page routes (one Router with
its own HTML error pages), the static files, the Jinja template engine and CSRF protection
for forms (never for ``/api`` and ``/ical``, which use bearer tokens and secret URLs).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import Request, Response, Router
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.exceptions import HTTPException, PermissionDeniedException, ValidationException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ControllerRouterHandler

from tierslieu.errors import DomainError, NotFound, Unauthenticated, render_problem
from tierslieu.runtime import for_log
from tierslieu.settings import Settings
from tierslieu.templating import environment
from tierslieu.web import text
from tierslieu.web.account import AccountController, MyAccountPages
from tierslieu.web.account_links import (
    AccountLinkPages,
    ContactInvitationPages,
    MyAccountLinkPages,
)
from tierslieu.web.admin_mail import MailPages
from tierslieu.web.agenda import AgendaPages
from tierslieu.web.canteen import CanteenPages, KitchenPages
from tierslieu.web.manage import ManagePages
from tierslieu.web.pages import RefusedAt, login_redirect, page, refusal_redirect
from tierslieu.web.privacy import PrivacyPage
from tierslieu.web.public import PublicController
from tierslieu.web.report import ReportPages
from tierslieu.web.series import SeriesPages
from tierslieu.web.session import Viewer, language_of, provide_viewer
from tierslieu.web.staff import StaffController

logger = logging.getLogger("tierslieu")

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def _anonymous(request: Request[Any, Any, Any]) -> Viewer:
    return Viewer(
        user=None, token=None, lang=language_of(request), settings=request.app.state.settings
    )


# Paths that are not pages: no CSRF token (programs call them), and their errors stay
# application/problem+json.
NOT_PAGES = ("/api/", "/ical/", "/schema", "/livez", "/health", "/static/")
# Pages that mail clients POST to without a cookie: the one-click unsubscribe (RFC 8058),
# which only turns reminders off for the person its HMAC names (``web/account_links.py``).
ONE_CLICK_PAGES = (r"^/desabonnement/[^/]+$",)
CSRF_EXCLUDE = [f"^{re.escape(p)}" for p in NOT_PAGES] + list(ONE_CLICK_PAGES)


def is_page_path(path: str) -> bool:
    """Whether a browser is looking at ``path`` (an unknown path outside the API is a page)."""
    return not any(path == p.rstrip("/") or path.startswith(p) for p in NOT_PAGES)


def _error_page(
    request: Request[Any, Any, Any], status: int, title: str, detail: str, code: str
) -> Template:
    """An error as an HTML page in the person's language, with the API's problem code."""
    viewer = _anonymous(request)
    return page(
        request, viewer, "error.html", title=title, detail=detail, code=code, status_code=status
    )


def handle_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    viewer = _anonymous(request)
    _ = text.translator(viewer.lang)
    if isinstance(exc, Unauthenticated):
        return login_redirect(request, viewer)
    if isinstance(exc, NotFound):
        return _error_page(
            request,
            404,
            _("Page introuvable"),
            _("Cette page n'existe pas, ou vous n'y avez pas accès."),
            exc.code,
        )
    title, detail = render_problem(exc, viewer.lang)
    return _error_page(request, exc.status, title, detail, exc.code)


def handle_refused(request: Request[Any, Any, Any], exc: RefusedAt) -> Response[Any]:
    return refusal_redirect(request, _anonymous(request), exc.back, exc.refusal)


def handle_csrf(request: Request[Any, Any, Any], exc: PermissionDeniedException) -> Response[Any]:
    _ = text.translator(language_of(request))
    return _error_page(
        request,
        403,
        _("Le formulaire a expiré"),
        _("Rechargez la page puis renvoyez le formulaire."),
        "forbidden",
    )


def handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    _ = text.translator(language_of(request))
    if exc.status_code == 404:
        return _error_page(
            request,
            404,
            _("Page introuvable"),
            _("Cette page n'existe pas, ou vous n'y avez pas accès."),
            "not-found",
        )
    if exc.status_code >= 500:
        logger.error(
            "HTTP %s on %s: %s",
            exc.status_code,
            for_log(request.url.path),
            for_log(exc.detail),
        )
    code = {400: "validation-error", 405: "method-not-allowed", 413: "payload-too-large"}.get(
        exc.status_code, "internal-error" if exc.status_code >= 500 else "validation-error"
    )
    title, detail = render_problem(code, language_of(request))
    return _error_page(request, exc.status_code, title, detail, code)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    logger.exception(
        "unexpected error on %s %s",
        for_log(request.method),
        for_log(request.url.path),
        exc_info=exc,
    )
    _ = text.translator(language_of(request))
    return _error_page(
        request,
        500,
        _("Erreur"),
        _("Une erreur inattendue s'est produite ; rien n'a été enregistré."),
        "internal-error",
    )


WEB_EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: handle_domain_error,
    RefusedAt: handle_refused,
    PermissionDeniedException: handle_csrf,
    ValidationException: handle_http,
    HTTPException: handle_http,
    Exception: handle_unexpected,
}


@dataclass(frozen=True)
class WebConfig:
    route_handlers: list[ControllerRouterHandler]
    template_config: TemplateConfig[JinjaTemplateEngine]
    csrf_config: CSRFConfig


def web_config(settings: Settings) -> WebConfig:
    pages = Router(
        path="/",
        route_handlers=[
            PublicController,
            AccountController,
            StaffController,
            AgendaPages,
            ManagePages,
            CanteenPages,
            KitchenPages,
            MyAccountPages,
            AccountLinkPages,
            MyAccountLinkPages,
            ContactInvitationPages,
            PrivacyPage,
            ReportPages,
            MailPages,
            SeriesPages,
        ],
        dependencies={"viewer": Provide(provide_viewer)},
        exception_handlers=WEB_EXCEPTION_HANDLERS,
        include_in_schema=False,
    )
    static = create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        include_in_schema=False,
        cache_control=None,
    )
    return WebConfig(
        route_handlers=[pages, static],
        template_config=TemplateConfig(engine=JinjaTemplateEngine.from_environment(environment())),
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="tl_csrf",
            cookie_secure=settings.public_url.startswith("https://"),
            cookie_httponly=True,
            cookie_samesite="lax",
            exclude=CSRF_EXCLUDE,
        ),
    )
