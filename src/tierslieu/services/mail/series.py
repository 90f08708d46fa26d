"""Renderers: a booking series, booked or cancelled, in one message.

The message lists every occurrence (and, when booking, the skipped ones with why). It
carries no iTIP part: each occurrence is its own event in the person's feed (linked to
the series by RELATED-TO), and one invitation per occurrence would flood a mailbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tierslieu import i18n
from tierslieu.domain.notifications import Kind
from tierslieu.domain.series import refusal_title
from tierslieu.services.mail import Mail, renderer
from tierslieu.services.mail.layout import Body, compose, footer, greeting, link, span, when
from tierslieu.settings import Settings
from tierslieu.templating import long_date


def _when(item: Mapping[str, Any], lang: str, tz: str) -> str:
    return span(when(item["starts_at"]), when(item["ends_at"]), lang, tz)


def _render(kind: Kind, params: Mapping[str, Any], lang: str, settings: Settings) -> Mail:
    _ = i18n.texts(lang)
    tz, place = params["timezone"], params["asset"]
    booked = params["occurrences"]
    n = len(booked)
    if kind is Kind.BOOKING_SERIES:
        subject = _.ngettext(
            "Série réservée : {place}, {n} séance",
            "Série réservée : {place}, {n} séances",
            n,
            place=place,
        )
        if params["status"] == "pending":
            lead = [
                _.ngettext(
                    "Votre demande de réservation régulière est reçue ({n} séance).",
                    "Votre demande de réservation régulière est reçue ({n} séances).",
                    n,
                ),
                _(
                    "{structure} doit encore l'accepter : vous recevrez un message dès sa réponse.",
                    structure=params["structure"],
                ),
            ]
        else:
            lead = [
                _.ngettext(
                    "Votre réservation régulière est confirmée : {n} séance.",
                    "Votre réservation régulière est confirmée : {n} séances.",
                    n,
                )
            ]
    else:
        subject = _.ngettext(
            "Séances annulées : {place}, {n} séance",
            "Séances annulées : {place}, {n} séances",
            n,
            place=place,
        )
        if params.get("by_staff"):
            lead = [_("{structure} a annulé ces séances.", structure=params["structure"])]
        else:
            lead = [_("Ces séances sont annulées, comme vous l'avez demandé.")]
        reason = (params.get("reason") or "").strip()
        if reason:
            lead.append(_("Motif : {reason}", reason=reason))
    facts = [(_("Lieu"), place), (_("Personnes"), str(int(params["party_size"])))]
    facts += [(_("Séance"), _when(item, lang, tz)) for item in booked]
    for item in params.get("skipped", []):
        day = long_date(when(item["starts_at"]), lang, tz)
        facts.append(
            (
                _("Non réservée"),
                _("{date} : {why}", date=day, why=refusal_title(item["code"], lang)),
            )
        )
    facts.append((_("Adresse"), params["address"]))
    mine = params["path"].startswith("/mes-reservations")
    body = Body(
        greeting=greeting(lang, params.get("name")),
        paragraphs=lead,
        facts=facts,
        link_text=_("Voir mes réservations") if mine else _("Voir le lieu et ses créneaux"),
        link_url=link(settings, params["path"]),
        footer=footer(lang, params),
    )
    return compose(subject, body, lang)


@renderer(Kind.BOOKING_SERIES)
def render_booking_series(params: Mapping[str, Any], lang: str, settings: Settings) -> Mail:
    return _render(Kind.BOOKING_SERIES, params, lang, settings)


@renderer(Kind.BOOKING_SERIES_CANCELLED)
def render_booking_series_cancelled(
    params: Mapping[str, Any], lang: str, settings: Settings
) -> Mail:
    return _render(Kind.BOOKING_SERIES_CANCELLED, params, lang, settings)
