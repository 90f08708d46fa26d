"""What every web page shares: the template context, flash messages, redirects, form errors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from litestar import Request
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template

from tierslieu import i18n
from tierslieu.errors import DomainError, one_line, render_problem
from tierslieu.services.clock import utcnow
from tierslieu.web import text
from tierslieu.web.session import FLASH_COOKIE, Viewer, cleared, flash_cookie, unsign

# Problem codes that are about one form field: their detail is also shown beside it.
FIELD_OF_CODE = {
    "invalid-party-size": "party_size",
    "slot-full": "slot",
    "not-slot-aligned": "slot",
    "in-the-past": "slot",
    "invalid-credentials": "password",
    "email-taken": "email",
    "unknown-person": "email",
    # Booking on behalf (the staff's person picker on the asset page).
    "person-required": "person_q",
    "one-person-only": "person_q",
    "account-not-found": "account_ref",
    "contact-exists": "guest_phone",
}


class FormErrors:
    """A refusal shown on a form: a summary (title, detail) and messages per field."""

    def __init__(
        self,
        title: str = "",
        detail: str = "",
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.title = title
        self.detail = detail
        self.fields = fields or {}
        # The refusal's own response headers (e.g. Retry-After of a 429), as the API sends.
        self.headers = headers or {}

    def __bool__(self) -> bool:
        return bool(self.title or self.fields)

    @classmethod
    def of(cls, exc: DomainError, lang: str, rename: dict[str, str] | None = None) -> FormErrors:
        """Translate a service refusal with the same catalogue as the API's problem details.

        A refusal about one field (party size, the slot…) is also shown beside that field.
        """
        title, detail = render_problem(exc, lang)
        fields: dict[str, str] = {}
        if exc.code in FIELD_OF_CODE:
            fields[FIELD_OF_CODE[exc.code]] = detail
        for f in exc.fields:
            name = (rename or {}).get(f.field, f.field)
            fields[name] = i18n.field_message(f.message_code, lang, f.params)
        for item in exc.extra.get("errors", []) if isinstance(exc.extra, dict) else []:
            if isinstance(item, dict) and item.get("field"):
                fields.setdefault(str(item["field"]), detail)
        return cls(title, detail, fields, exc.headers)

    @classmethod
    def single(cls, lang: str, field: str, message: str) -> FormErrors:
        _ = text.translator(lang)
        return cls(_("Le formulaire contient une erreur."), "", {field: message})


def safe_next(target: str | None, default: str = "/") -> str:
    """Only this site's own paths: never redirect a person to another site.

    A path starting with one ``/``, no scheme or host once parsed, no backslash (browsers
    read ``/\\evil`` as ``//evil``) and no control character or space (browsers drop tabs
    and newlines, so ``/<TAB>/evil`` would become ``//evil``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ch <= " " or ch == "\x7f" for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def redirect(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    to: str,
    message: str | None = None,
    cookies: list[Cookie] | None = None,
    **extra: Any,
) -> Redirect:
    """POST-redirect-GET: 303 to a page that shows ``message`` once."""
    jar = list(cookies or [])
    if message:
        jar.append(flash_cookie(request, viewer.settings, message, **extra))
    return Redirect(path=to, status_code=303, cookies=jar)


def refusal_redirect(
    request: Request[Any, Any, Any], viewer: Viewer, to: str, exc: DomainError
) -> Redirect:
    """POST-redirect-GET after a refused action: the rule's title and detail, once, as an error."""
    errors = FormErrors.of(exc, viewer.lang)
    message = one_line(viewer.lang, errors.title, errors.detail)
    return redirect(request, viewer, to, message, k="error")


class RefusedAt(Exception):
    """A refused action of a form that answers with a redirect: ``back`` shows the refusal once.

    Raised by ``refusals_to``; the pages' exception handler answers ``refusal_redirect``.
    """

    def __init__(self, back: str, refusal: DomainError) -> None:
        super().__init__(back)
        self.back = back
        self.refusal = refusal


@contextmanager
def refusals_to(back: str) -> Iterator[None]:
    """POST-redirect-GET for a refused action: a ``DomainError`` inside the block becomes a 303
    to ``back``, which shows the rule's title and detail once, as an error."""
    try:
        yield
    except DomainError as exc:
        raise RefusedAt(back, exc) from exc


def login_redirect(request: Request[Any, Any, Any], viewer: Viewer) -> Redirect:
    _ = text.translator(viewer.lang)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect(
        request,
        viewer,
        f"/connexion?next={quote(target)}",
        _("Connectez-vous pour continuer."),
    )


def local_today(tz: str) -> dt.date:
    return utcnow().astimezone(ZoneInfo(tz)).date()


def page(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    template: str,
    *,
    title: str,
    status_code: int = 200,
    **context: Any,
) -> Template:
    """Render ``web/<template>`` with the layout's context; a pending flash is shown and cleared."""
    cookies: list[Cookie] = []
    flash = unsign(viewer.settings.secret_key, "flash", request.cookies.get(FLASH_COOKIE))
    if request.cookies.get(FLASH_COOKIE):
        cookies.append(cleared(request, viewer.settings, FLASH_COOKIE))
    lang = viewer.lang
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    errors = context.get("errors")
    refusal_headers = errors.headers if isinstance(errors, FormErrors) else {}
    return Template(
        template_name=f"web/{template}",
        context={
            "viewer": viewer,
            "user": viewer.user,
            "lang": lang,
            "_": text.translator(lang),
            "ngettext": text.translator(lang).ngettext,
            "label": text.label_for(lang),
            "title": title,
            "flash": flash,
            "here": here,
            "now": utcnow(),
            "errors": FormErrors(),
            "form": {},
            **context,
        },
        status_code=status_code,
        cookies=cookies,
        # security headers: tierslieu.headers
        headers={**refusal_headers, "Cache-Control": "no-store"},
        media_type="text/html",
    )


async def read_form(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The posted form as a dict; repeated names (checkboxes) as lists under ``name[]``."""
    form = await request.form()
    data: dict[str, Any] = {}
    for key in form:
        values = form.getall(key)
        data[key] = values[-1] if len(values) == 1 else values
        data[f"{key}[]"] = values
    return data
