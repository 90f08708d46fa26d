"""Renderers of the reminders (booking, meal pickup): text and HTML, in the person's
language, with the one-click unsubscribe link (``Mail.unsubscribe_url``, RFC 8058) when
the person has an account (a guest has nothing to turn off). No tracking."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from tierslieu import i18n, templating
from tierslieu.domain.notifications import Kind
from tierslieu.services.mail import Mail, renderer
from tierslieu.services.mail.accounts import footer, greeting, html_part
from tierslieu.settings import Settings


def _unsubscribe(params: Mapping[str, Any], settings: Settings) -> str | None:
    from tierslieu.services.account_links import unsubscribe_url

    user_id = params.get("user_id")
    return unsubscribe_url(settings, str(user_id)) if user_id else None


def _when(params: Mapping[str, Any], lang: str) -> tuple[str, str]:
    tz = str(params.get("tz") or "Europe/Paris")
    starts = dt.datetime.fromisoformat(str(params["starts_at"]))
    ends = dt.datetime.fromisoformat(str(params["ends_at"]))
    return templating.moment(starts, lang, tz), templating.clock(ends, lang, tz)


def _mail(
    params: Mapping[str, Any],
    lang: str,
    settings: Settings,
    *,
    subject: str,
    intro: str,
    lines: list[str],
    manage_label: str,
) -> Mail:
    _ = i18n.texts(lang)
    name = params.get("name")
    unsubscribe = _unsubscribe(params, settings)
    manage_url = f"{settings.public_url}/mes-reservations" if params.get("user_id") else None
    parts = [greeting(_, name), intro, "\n".join(f"- {line}" for line in lines)]
    if manage_url:
        parts.append(f"{manage_label}\n{manage_url}")
    tail = footer(_)
    if unsubscribe:
        tail += "\n" + _("Ne plus recevoir de rappels :") + f" {unsubscribe}"
    parts.append(tail)
    html = html_part(
        "reminder.html",
        lang,
        subject,
        name,
        intro=intro,
        lines=lines,
        manage_url=manage_url,
        manage_label=manage_label,
        unsubscribe_url=unsubscribe,
    )
    return Mail(subject=subject, text="\n\n".join(parts), html=html, unsubscribe_url=unsubscribe)


def _place_lines(_: i18n.Texts, params: Mapping[str, Any]) -> list[str]:
    lines = []
    if params.get("address"):
        lines.append(_("Adresse : {address}", address=params["address"]))
    if params.get("structure_phone"):
        lines.append(_("Téléphone du lieu : {phone}", phone=params["structure_phone"]))
    return lines


@renderer(Kind.BOOKING_REMINDER)
def booking_reminder(params: Mapping[str, Any], lang: str, settings: Settings) -> Mail:
    _ = i18n.texts(lang)
    starts, ends = _when(params, lang)
    asset, structure = str(params.get("asset", "")), str(params.get("structure", ""))
    lines = [
        _("{asset} ({structure})", asset=asset, structure=structure),
        _("Le {starts} jusqu'à {ends}", starts=starts, ends=ends),
        _.ngettext("{n} personne", "{n} personnes", int(params.get("party_size") or 1)),
        *_place_lines(_, params),
    ]
    return _mail(
        params,
        lang,
        settings,
        subject=_("Rappel : {asset}, {starts}", asset=asset, starts=starts),
        intro=_("Petit rappel de votre réservation :"),
        lines=lines,
        manage_label=_("Un empêchement ? Annulez pour libérer la place :"),
    )


@renderer(Kind.ORDER_REMINDER)
def order_reminder(params: Mapping[str, Any], lang: str, settings: Settings) -> Mail:
    _ = i18n.texts(lang)
    starts, ends = _when(params, lang)
    asset, structure = str(params.get("asset", "")), str(params.get("structure", ""))
    lines = [
        _("{asset} ({structure})", asset=asset, structure=structure),
        _("Retrait le {starts} jusqu'à {ends}", starts=starts, ends=ends),
        _("Commande n° {ref}", ref=params.get("order_ref", "")),
    ]
    if not params.get("paid") and params.get("total_cents"):
        lines.append(
            _(
                "À régler au comptoir : {amount}",
                amount=templating.money(int(params["total_cents"]), lang),
            )
        )
    lines.extend(_place_lines(_, params))
    return _mail(
        params,
        lang,
        settings,
        subject=_("Rappel : votre repas, {starts}", starts=starts),
        intro=_("Petit rappel : votre repas vous attend."),
        lines=lines,
        manage_label=_("Un empêchement ? Annulez votre commande :"),
    )
