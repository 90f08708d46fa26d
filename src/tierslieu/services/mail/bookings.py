"""Renderers: what a person reads about their booking.

Received (pending approval), confirmed, approved, declined, cancelled (by the person, or
by staff with their reason), changed, promoted from a waiting list. Each mail carries an
iTIP invitation (``calendar.build.build_invitation``): METHOD REQUEST, or CANCEL for a
cancelled or declined booking, around the same VEVENT as the person's feed (UID
``booking-<id>@tierslieu`` and the booking's SEQUENCE after the change, both taken into
``params`` at enqueue time by ``services/notify.py``), so a mail client updates the event
instead of adding a second one beside the subscribed feed.
"""

from __future__ import annotations

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
    span,
    when,
)
from tierslieu.settings import Settings
from tierslieu.templating import long_date

_GONE = ("cancelled", "declined")


def _event_status(status: str) -> str:
    if status in _GONE:
        return "CANCELLED"
    if status == "pending":
        return "TENTATIVE"
    return "CONFIRMED"


def booking_event(params: Mapping[str, Any], lang: str) -> FeedEvent:
    """The person's feed event for this booking, as it was when the message was queued."""
    _ = i18n.texts(lang)
    status = _event_status(params["status"])
    place = params["asset"]
    if status == "TENTATIVE":
        summary = _("Réservation en attente : {place}", place=place)
    else:
        summary = _("Réservation : {place}", place=place)
    if status == "CANCELLED":
        summary = _("Annulée — {summary}", summary=summary)
    description = "\n".join(
        [
            _("Lieu : {place}", place=place),
            _("Structure : {address}", address=params["address"]),
            _("Personnes : {n}", n=params["party_size"]),
            _("Statut : {status}", status=label(lang, "status", params["status"])),
        ]
    )
    return FeedEvent(
        uid=params["uid"],
        summary=summary,
        start=when(params["starts_at"]),
        end=when(params["ends_at"]),
        last_modified=when(params["updated_at"]),
        created=when(params["created_at"]),
        description=description,
        location=params["address"],
        status=status,  # type: ignore[arg-type]
        sequence=int(params["sequence"]),
    )


def _subject(kind: Kind, params: Mapping[str, Any], lang: str) -> str:
    _ = i18n.texts(lang)
    place = params["asset"]
    date = long_date(when(params["starts_at"]), lang, params["timezone"])
    subjects = {
        Kind.BOOKING_RECEIVED: _("Demande de réservation reçue : {place}, {date}", place=place, date=date),
        Kind.BOOKING_CONFIRMED: _("Réservation confirmée : {place}, {date}", place=place, date=date),
        Kind.BOOKING_APPROVED: _("Réservation acceptée : {place}, {date}", place=place, date=date),
        Kind.BOOKING_DECLINED: _("Réservation refusée : {place}, {date}", place=place, date=date),
        Kind.BOOKING_CANCELLED: _("Réservation annulée : {place}, {date}", place=place, date=date),
        Kind.BOOKING_CHANGED: _("Réservation modifiée : {place}, {date}", place=place, date=date),
        Kind.BOOKING_PROMOTED: _("Une place s'est libérée : {place}, {date}", place=place, date=date),
    }  # fmt: skip
    return subjects[kind]


def _lead(kind: Kind, params: Mapping[str, Any], lang: str) -> list[str]:
    """What happened, in one or two sentences (also what staff say on the phone)."""
    _ = i18n.texts(lang)
    structure = params["structure"]
    reason = (params.get("reason") or "").strip()
    if kind is Kind.BOOKING_RECEIVED:
        lines = [
            _("Votre demande de réservation est bien reçue."),
            _(
                "{structure} doit encore l'accepter : vous recevrez un message dès sa réponse.",
                structure=structure,
            ),
        ]
    elif kind is Kind.BOOKING_CONFIRMED:
        lines = [_("Votre réservation est confirmée.")]
    elif kind is Kind.BOOKING_APPROVED:
        lines = [
            _(
                "Bonne nouvelle : {structure} a accepté votre demande de réservation.",
                structure=structure,
            )
        ]
    elif kind is Kind.BOOKING_DECLINED:
        lines = [
            _(
                "{structure} n'a pas pu accepter votre demande de réservation.",
                structure=structure,
            )
        ]
    elif kind is Kind.BOOKING_CANCELLED and params.get("by_staff"):
        lines = [_("{structure} a annulé votre réservation.", structure=structure)]
    elif kind is Kind.BOOKING_CANCELLED:
        lines = [_("Votre réservation est annulée, comme vous l'avez demandé.")]
    elif kind is Kind.BOOKING_CHANGED:
        lines = [_("Votre réservation a changé. Voici ce qui vaut désormais.")]
    else:  # promoted
        lines = [
            _(
                "Une place s'est libérée : vous passez de la liste d'attente à une "
                "réservation confirmée."
            )
        ]
    if reason and kind in (Kind.BOOKING_DECLINED, Kind.BOOKING_CANCELLED):
        lines.append(_("Motif : {reason}", reason=reason))
    return lines


def render_booking(kind: Kind, params: Mapping[str, Any], lang: str, settings: Settings) -> Mail:
    _ = i18n.texts(lang)
    tz = params["timezone"]
    gone = kind in (Kind.BOOKING_CANCELLED, Kind.BOOKING_DECLINED)
    method = "CANCEL" if gone else "REQUEST"
    paragraphs = _lead(kind, params, lang)
    if not params.get("email"):
        pass  # a phone notice: staff read the text aloud, there is no attachment to mention
    elif gone:
        paragraphs.append(_("L'invitation jointe retire ce rendez-vous de votre agenda."))
    else:
        paragraphs.append(_("L'invitation jointe ajoute ce rendez-vous à votre agenda."))
    facts = [
        (_("Lieu"), params["asset"]),
        (_("Quand"), span(when(params["starts_at"]), when(params["ends_at"]), lang, tz)),
        (_("Personnes"), str(int(params["party_size"]))),
        (_("Adresse"), params["address"]),
    ]
    mine = params["path"].startswith("/mes-reservations")
    body = Body(
        greeting=greeting(lang, params.get("name")),
        paragraphs=paragraphs,
        facts=facts,
        link_text=_("Voir mes réservations") if mine else _("Voir le lieu et ses créneaux"),
        link_url=link(settings, params["path"]),
        footer=footer(lang, params),
    )
    calendar = build_invitation(
        booking_event(params, lang),
        method,
        organizer(settings, params["structure"]),
        attendee(params),
    )
    return compose(
        _subject(kind, params, lang), body, lang, calendar=calendar, calendar_method=method
    )


def _register(kind: Kind) -> None:
    def render(params: Mapping[str, Any], lang: str, settings: Settings) -> Mail:
        return render_booking(kind, params, lang, settings)

    render.__name__ = f"render_{kind.name.lower()}"
    renderer(kind)(render)


for _kind in (
    Kind.BOOKING_RECEIVED,
    Kind.BOOKING_CONFIRMED,
    Kind.BOOKING_APPROVED,
    Kind.BOOKING_DECLINED,
    Kind.BOOKING_CANCELLED,
    Kind.BOOKING_CHANGED,
    Kind.BOOKING_PROMOTED,
):
    _register(_kind)
