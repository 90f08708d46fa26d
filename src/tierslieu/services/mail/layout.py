"""The shape every notification shares: a greeting, a few paragraphs, the facts as
« label : value » lines, one link back to the service, and a footer; written once as
plain text and once as HTML (``templates/mail/message.html``, autoescaped, no remote
image, no tracking). Also the words every renderer needs: times in the structure's zone,
absolute links, the organizer of a calendar invitation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any

from tierslieu import i18n
from tierslieu.calendar.build import Party
from tierslieu.services.mail import Mail
from tierslieu.settings import Settings
from tierslieu.templating import clock, long_date, render


@dataclass(slots=True)
class Body:
    greeting: str
    paragraphs: list[str] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    link_text: str = ""
    link_url: str = ""
    footer: list[str] = field(default_factory=list)


def text_of(body: Body, lang: str) -> str:
    _ = i18n.texts(lang)
    parts = [body.greeting, *body.paragraphs]
    if body.facts:
        parts.append("\n".join(_("{label} : {value}", label=n, value=v) for n, v in body.facts))
    if body.link_url:
        parts.append(_("{label} : {value}", label=body.link_text, value=body.link_url))
    text = "\n\n".join(p for p in parts if p)
    if body.footer:
        text += "\n\n-- \n" + "\n".join(body.footer)
    return text + "\n"


def compose(
    subject: str,
    body: Body,
    lang: str,
    *,
    calendar: bytes | None = None,
    calendar_method: str | None = None,
) -> Mail:
    html = render("mail/message.html", subject=subject, body=body, lang=i18n.choose(lang))
    return Mail(
        subject=subject,
        text=text_of(body, lang),
        html=html,
        calendar=calendar,
        calendar_method=calendar_method if calendar is not None else None,
    )


def when(value: str) -> dt.datetime:
    """An instant stored by ``outbox.instant``."""
    return dt.datetime.fromisoformat(value)


def at(moment: dt.datetime, lang: str, tz: str) -> str:
    """« mardi 6 avril 2027 à 10 h 00 » in the structure's zone."""
    _ = i18n.texts(lang)
    return _("{date} à {time}", date=long_date(moment, lang, tz), time=clock(moment, lang, tz))


def span(starts: dt.datetime, ends: dt.datetime, lang: str, tz: str) -> str:
    """« mardi 6 avril 2027 à 10 h 00, jusqu'à 11 h 00 » (the end date when it differs)."""
    _ = i18n.texts(lang)
    start = at(starts, lang, tz)
    if long_date(starts, lang, tz) == long_date(ends, lang, tz):
        return _("{start}, jusqu'à {end}", start=start, end=clock(ends, lang, tz))
    return _("{start}, jusqu'au {end}", start=start, end=at(ends, lang, tz))


def greeting(lang: str, name: str | None) -> str:
    _ = i18n.texts(lang)
    return _("Bonjour {name},", name=name) if name else _("Bonjour,")


def link(settings: Settings, path: str) -> str:
    return settings.public_url.rstrip("/") + path


def footer(lang: str, params: Mapping[str, Any]) -> list[str]:
    _ = i18n.texts(lang)
    lines = [_("Message envoyé par {structure} via tierslieu.", structure=params["structure"])]
    if params.get("structure_phone"):
        lines.append(
            _(
                "Ne répondez pas à ce message ; pour toute question, appelez le {phone}.",
                phone=params["structure_phone"],
            )
        )
    else:
        lines.append(_("Ne répondez pas à ce message : il n'est pas lu."))
    return lines


def organizer(settings: Settings, structure: str) -> Party:
    """The ORGANIZER of an invitation: the service's sending address, the structure's name."""
    _name, address = parseaddr(settings.mail_from)
    return Party(email=address or "ne-pas-repondre@localhost", name=structure)


def attendee(params: Mapping[str, Any]) -> Party | None:
    email = params.get("email") or ""
    return Party(email=email, name=params.get("name") or "") if email else None
