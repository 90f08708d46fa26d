"""Renderers of the account mails: password reset, address confirmation, password changed.

Text and HTML parts in the person's language (gettext, French msgids), HTML from
``templates/mail/account_*.html`` with autoescape. No tracking: no images, no pixel, no
redirecting links (the link is the page itself).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from tierslieu import i18n, templating
from tierslieu.domain.notifications import Kind
from tierslieu.services.mail import Mail, renderer
from tierslieu.settings import Settings


def greeting(_: i18n.Texts, name: str | None) -> str:
    return _("Bonjour {name},", name=name) if name else _("Bonjour,")


def html_part(template: str, lang: str, subject: str, name: str | None, **context: Any) -> str:
    _ = i18n.texts(lang)
    return templating.render(
        f"mail/{template}",
        lang=lang,
        _=_,
        subject=subject,
        greeting=greeting(_, name),
        **context,
    )


def footer(_: i18n.Texts) -> str:
    return "-- \n" + _("Ce message vous est envoyé par tierslieu.")


@renderer(Kind.PASSWORD_RESET)
def password_reset(params: Mapping[str, Any], lang: str, settings: Settings) -> Mail:
    _ = i18n.texts(lang)
    name, link = params.get("name"), str(params["link"])
    subject = _("Votre nouveau mot de passe tierslieu")
    text = "\n\n".join(
        (
            greeting(_, name),
            _(
                "Quelqu'un, sans doute vous, a demandé à changer le mot de passe de "
                "votre compte tierslieu."
            ),
            _("Choisissez un nouveau mot de passe ici :") + f"\n{link}",
            _("Ce lien est valable une heure et ne sert qu'une fois."),
            _(
                "Si vous n'avez rien demandé, ignorez ce message : votre mot de passe reste le même."
            ),
            footer(_),
        )
    )
    html = html_part("account_password_reset.html", lang, subject, name, link=link)
    return Mail(subject=subject, text=text, html=html)


@renderer(Kind.EMAIL_CONFIRM)
def email_confirm(params: Mapping[str, Any], lang: str, settings: Settings) -> Mail:
    _ = i18n.texts(lang)
    name, link = params.get("name"), str(params["link"])
    subject = _("Confirmez votre adresse e-mail")
    text = "\n\n".join(
        (
            greeting(_, name),
            _(
                "Bienvenue sur tierslieu ! Pour confirmer que cette adresse est bien la "
                "vôtre, ouvrez ce lien :"
            )
            + f"\n{link}",
            _("Ce lien est valable sept jours."),
            _("Si vous n'avez pas créé de compte, ignorez ce message."),
            footer(_),
        )
    )
    html = html_part("account_email_confirm.html", lang, subject, name, link=link)
    return Mail(subject=subject, text=text, html=html)


@renderer(Kind.PASSWORD_CHANGED)
def password_changed(params: Mapping[str, Any], lang: str, settings: Settings) -> Mail:
    _ = i18n.texts(lang)
    name = params.get("name")
    changed_at = dt.datetime.fromisoformat(str(params["changed_at"]))
    when = templating.moment(changed_at, lang, settings.default_timezone)
    reset_url = str(params.get("reset_url") or f"{settings.public_url}/mot-de-passe-oublie")
    subject = _("Votre mot de passe tierslieu a été changé")
    text = "\n\n".join(
        (
            greeting(_, name),
            _("Le mot de passe de votre compte tierslieu a été changé le {when}.", when=when),
            _("Si c'était vous, il n'y a rien à faire."),
            _("Si ce n'était pas vous, choisissez tout de suite un nouveau mot de passe :")
            + f"\n{reset_url}",
            footer(_),
        )
    )
    html = html_part(
        "account_password_changed.html", lang, subject, name, when=when, reset_url=reset_url
    )
    return Mail(subject=subject, text=text, html=html)


@renderer(Kind.CONTACT_INVITE)
def contact_invite(params: Mapping[str, Any], lang: str, settings: Settings) -> Mail:
    _ = i18n.texts(lang)
    name, link = params.get("name"), str(params["link"])
    structure = str(params.get("structure") or "")
    subject = _("Retrouvez vos réservations de {structure}", structure=structure)
    text = "\n\n".join(
        (
            greeting(_, name),
            _(
                "L'équipe de {structure} réserve pour vous. Pour retrouver ces réservations "
                "dans votre compte tierslieu et votre agenda, ouvrez ce lien, connectez-vous "
                "(ou créez un compte) et confirmez :",
                structure=structure,
            )
            + f"\n{link}",
            _("Ce lien est valable quatorze jours."),
            _("Si vous ne connaissez pas cette structure, ignorez ce message."),
            footer(_),
        )
    )
    html = html_part("contact_invite.html", lang, subject, name, link=link, structure=structure)
    return Mail(subject=subject, text=text, html=html)
