"""Renderers: what a person reads about their meal order.

Confirmed (the dishes, the pickup window in plain words, the amount to pay at the counter
in euros, from integer cents, by Babel), cancelled, ready. Confirmed and cancelled carry
an iTIP invitation around the same VEVENT as the person's feed (UID
``meal-order-<id>@tierslieu``, SEQUENCE 0, then 1 once cancelled): REQUEST, then CANCEL.
« Ready » changes nothing in the calendar and carries none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from tierslieu import i18n
from tierslieu.calendar import FeedEvent
from tierslieu.calendar.build import build_invitation
from tierslieu.domain.notifications import Kind
from tierslieu.labels import label
from tierslieu.services.mail import Mail, renderer
from tierslieu.services.mail.layout import (
    Body,
    attendee,
    compose,
    footer,
    greeting,
    link,
    organizer,
    when,
)
from tierslieu.settings import Settings
from tierslieu.templating import clock, long_date, money


def pickup(params: Mapping[str, Any], lang: str) -> str:
    """« mardi 6 avril 2027, entre 12 h 00 et 13 h 30 » in the structure's zone."""
    _ = i18n.texts(lang)
    tz = params["timezone"]
    starts, ends = when(params["pickup_starts_at"]), when(params["pickup_ends_at"])
    return _(
        "{date}, entre {start} et {end}",
        date=long_date(starts, lang, tz),
        start=clock(starts, lang, tz),
        end=clock(ends, lang, tz),
    )


def _dishes(params: Mapping[str, Any], lang: str) -> str:
    _ = i18n.texts(lang)
    lines = [f"{quantity} × {name}" for quantity, name in params["dishes"]]
    if params.get("suspended_meals"):
        lines.append(
            _.ngettext(
                "{n} repas suspendu offert",
                "{n} repas suspendus offerts",
                int(params["suspended_meals"]),
            )
        )
    return ", ".join(lines)


def _to_pay(params: Mapping[str, Any], lang: str) -> str:
    _ = i18n.texts(lang)
    cents = int(params["total_cents"])
    if params.get("paid"):
        return _("{amount}, déjà payé", amount=money(cents, lang))
    if cents == 0:
        return _("rien à payer")
    return _("{amount}, à payer au comptoir", amount=money(cents, lang))


def order_event(params: Mapping[str, Any], lang: str, cancelled: bool) -> FeedEvent:
    """The person's feed event for this order (as ``services/feeds.order_event``)."""
    _ = i18n.texts(lang)
    summary = _("Retrait repas — {structure}", structure=params["structure"])
    if cancelled:
        summary = _("Annulée — {summary}", summary=summary)
    updated = when(params["updated_at"])
    description = "\n".join(
        [
            _("Commande {reference}", reference=params["reference"]),
            *(f"{quantity} × {name}" for quantity, name in params["dishes"]),
            _("Retrait : {when}", when=pickup(params, lang)),
            _("Adresse : {address}", address=params["address"]),
        ]
    )
    return FeedEvent(
        uid=params["uid"],
        summary=summary,
        start=when(params["pickup_starts_at"]),
        end=when(params["pickup_ends_at"]),
        last_modified=updated,
        description=description,
        location=params["address"],
        status="CANCELLED" if cancelled else "CONFIRMED",
        sequence=int(params["sequence"]),
    )


def _render(kind: Kind, params: Mapping[str, Any], lang: str, settings: Settings) -> Mail:
    _ = i18n.texts(lang)
    reference = params["reference"]
    day = long_date(dt.date.fromisoformat(params["service_date"]), lang)
    meal = label(lang, "meal", params["meal"]).lower()
    if kind is Kind.ORDER_CONFIRMED:
        subject = _("Commande de repas confirmée : {meal} du {date}", meal=meal, date=day)
        lead = [_("Votre commande de repas est enregistrée.")]
    elif kind is Kind.ORDER_CANCELLED:
        subject = _("Commande de repas annulée : {meal} du {date}", meal=meal, date=day)
        lead = [_("Votre commande de repas est annulée. Rien ne vous sera demandé au comptoir.")]
    else:
        subject = _("Votre repas est prêt : commande {reference}", reference=reference)
        lead = [
            _(
                "Votre repas est prêt : venez le chercher au comptoir de {structure}.",
                structure=params["structure"],
            )
        ]
    facts = [
        (_("Commande"), reference),
        (_("Plats"), _dishes(params, lang)),
        (_("Retrait"), pickup(params, lang)),
    ]
    if kind is not Kind.ORDER_CANCELLED:
        facts.append((_("À payer"), _to_pay(params, lang)))
    facts.append((_("Adresse"), params["address"]))
    calendar = method = None
    if kind is not Kind.ORDER_READY:
        cancelled = kind is Kind.ORDER_CANCELLED
        method = "CANCEL" if cancelled else "REQUEST"
        calendar = build_invitation(
            order_event(params, lang, cancelled),
            method,
            organizer(settings, params["structure"]),
            attendee(params),
        )
        if not params.get("email"):
            pass  # a phone notice: no attachment to mention
        elif cancelled:
            lead.append(_("L'invitation jointe retire ce retrait de votre agenda."))
        else:
            lead.append(_("L'invitation jointe ajoute ce retrait à votre agenda."))
    body = Body(
        greeting=greeting(lang, params.get("name")),
        paragraphs=lead,
        facts=facts,
        link_text=_("Voir ma commande"),
        link_url=link(settings, params["path"]),
        footer=footer(lang, params),
    )
    return compose(subject, body, lang, calendar=calendar, calendar_method=method)


@renderer(Kind.ORDER_CONFIRMED)
def order_confirmed(params: Mapping[str, Any], lang: str, settings: Settings) -> Mail:
    return _render(Kind.ORDER_CONFIRMED, params, lang, settings)


@renderer(Kind.ORDER_CANCELLED)
def order_cancelled(params: Mapping[str, Any], lang: str, settings: Settings) -> Mail:
    return _render(Kind.ORDER_CANCELLED, params, lang, settings)


@renderer(Kind.ORDER_READY)
def order_ready(params: Mapping[str, Any], lang: str, settings: Settings) -> Mail:
    return _render(Kind.ORDER_READY, params, lang, settings)
