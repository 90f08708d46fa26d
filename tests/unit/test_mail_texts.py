"""What a person reads in each booking, meal-order and digest mail, in French and English:
subject, local date and time, amount in euros, the link back, the calendar part; and that
the HTML part escapes what people typed and loads nothing from elsewhere."""

from __future__ import annotations

import html
import re

import icalendar
import pytest

from tierslieu.domain.notifications import Kind
from tierslieu.services.mail import kinds_rendered, render
from tierslieu.settings import Settings

SETTINGS = Settings(
    public_url="https://reservations.exemple.fr",
    mail_from="Tiers-lieux de l'Est <ne-pas-repondre@exemple.fr>",
)
BOOKING = {
    "booking_id": "0190aaaa-0000-7000-8000-000000000001",
    "uid": "booking-0190aaaa-0000-7000-8000-000000000001@tierslieu",
    "sequence": 0,
    "status": "confirmed",
    "asset": "Jardin des Tilleuls",
    "asset_id": "0190aaaa-0000-7000-8000-00000000000a",
    "structure": "EHPAD Les Tilleuls",
    "structure_slug": "ehpad-les-tilleuls",
    "structure_phone": "01 48 00 00 00",
    "address": "EHPAD Les Tilleuls, 12 rue des Tilleuls, 93140 Bondy",
    "timezone": "Europe/Paris",
    "starts_at": "2027-04-06T08:00:00+00:00",
    "ends_at": "2027-04-06T09:00:00+00:00",
    "party_size": 2,
    "updated_at": "2027-03-15T10:00:00+00:00",
    "created_at": "2027-03-15T10:00:00+00:00",
    "name": "Jeanne Martin",
    "email": "jeanne.martin@exemple.test",
    "path": "/mes-reservations",
    "by_staff": False,
    "reason": "",
}
ORDER = {
    "order_id": "0190bbbb-0000-7000-8000-0000001a2b3c",
    "reference": "1A2B3C",
    "uid": "meal-order-0190bbbb-0000-7000-8000-0000001a2b3c@tierslieu",
    "sequence": 0,
    "structure": "CHRS Le Relais",
    "structure_slug": "chrs-le-relais",
    "structure_phone": "",
    "address": "CHRS Le Relais, 5 avenue Gaston Roussel, 93230 Romainville",
    "timezone": "Europe/Paris",
    "service_date": "2027-04-06",
    "meal": "lunch",
    "pickup_starts_at": "2027-04-06T10:15:00+00:00",
    "pickup_ends_at": "2027-04-06T10:30:00+00:00",
    "dishes": [[1, "Curry de légumes, riz basmati"]],
    "suspended_meals": 0,
    "total_cents": 950,
    "paid": False,
    "updated_at": "2027-03-15T10:00:00+00:00",
    "name": "Karim Benali",
    "email": "karim@exemple.test",
    "path": "/mes-commandes/0190bbbb-0000-7000-8000-0000001a2b3c",
}
DIGEST = {
    "structure": "EHPAD Les Tilleuls",
    "structure_slug": "ehpad-les-tilleuls",
    "structure_phone": "",
    "address": "EHPAD Les Tilleuls, 12 rue des Tilleuls, 93140 Bondy",
    "timezone": "Europe/Paris",
    "hour": "2027-04-06T08:00:00+00:00",
    "path": "/structures/ehpad-les-tilleuls/tableau",
    "name": "Lucas Moreau",
}


def plain(text: str) -> str:
    """Babel's narrow and ordinary no-break spaces read as spaces."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


def test_every_booking_and_order_kind_has_a_renderer():
    mine = {k for k in Kind if k.name.startswith(("BOOKING_", "ORDER_"))} | {Kind.STAFF_DIGEST}
    mine -= {Kind.BOOKING_REMINDER, Kind.ORDER_REMINDER}  # the reminders' helper
    assert mine <= kinds_rendered()


BOOKING_SUBJECTS = {
    Kind.BOOKING_RECEIVED: (
        "Demande de réservation reçue : Jardin des Tilleuls, mardi 6 avril 2027",
        "Booking request received: Jardin des Tilleuls, Tuesday, 6 April 2027",
    ),
    Kind.BOOKING_CONFIRMED: (
        "Réservation confirmée : Jardin des Tilleuls, mardi 6 avril 2027",
        "Booking confirmed: Jardin des Tilleuls, Tuesday, 6 April 2027",
    ),
    Kind.BOOKING_APPROVED: (
        "Réservation acceptée : Jardin des Tilleuls, mardi 6 avril 2027",
        "Booking accepted: Jardin des Tilleuls, Tuesday, 6 April 2027",
    ),
    Kind.BOOKING_DECLINED: (
        "Réservation refusée : Jardin des Tilleuls, mardi 6 avril 2027",
        "Booking declined: Jardin des Tilleuls, Tuesday, 6 April 2027",
    ),
    Kind.BOOKING_CANCELLED: (
        "Réservation annulée : Jardin des Tilleuls, mardi 6 avril 2027",
        "Booking cancelled: Jardin des Tilleuls, Tuesday, 6 April 2027",
    ),
    Kind.BOOKING_CHANGED: (
        "Réservation modifiée : Jardin des Tilleuls, mardi 6 avril 2027",
        "Booking changed: Jardin des Tilleuls, Tuesday, 6 April 2027",
    ),
    Kind.BOOKING_PROMOTED: (
        "Une place s'est libérée : Jardin des Tilleuls, mardi 6 avril 2027",
        "A place has become free: Jardin des Tilleuls, Tuesday, 6 April 2027",
    ),
}
GONE = {Kind.BOOKING_DECLINED, Kind.BOOKING_CANCELLED}


@pytest.mark.parametrize("kind", sorted(BOOKING_SUBJECTS))
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_booking_mails_in_french_and_english(kind, lang):
    status = {
        Kind.BOOKING_RECEIVED: "pending",
        Kind.BOOKING_DECLINED: "declined",
        Kind.BOOKING_CANCELLED: "cancelled",
    }.get(kind, "confirmed")
    params = {**BOOKING, "status": status, "sequence": 0 if kind is Kind.BOOKING_RECEIVED else 1}
    mail = render(kind, params, lang, SETTINGS)
    french = lang == "fr"
    assert mail.subject == BOOKING_SUBJECTS[kind][0 if french else 1]
    text = plain(mail.text)
    when = (
        "mardi 6 avril 2027 à 10 h 00, jusqu'à 11 h 00"
        if french
        else "Tuesday, 6 April 2027 at 10:00, until 11:00"
    )
    assert when in text  # Paris summer time: UTC+2
    assert ("Bonjour Jeanne Martin," if french else "Hello Jeanne Martin,") in text
    assert "https://reservations.exemple.fr/mes-reservations" in text
    assert ("Personnes : 2" if french else "People: 2") in text
    assert "01 48 00 00 00" in text
    assert when in plain(html.unescape(mail.html or ""))

    cal = icalendar.Calendar.from_ical(mail.calendar)
    method = "CANCEL" if kind in GONE else "REQUEST"
    assert str(cal["METHOD"]) == method == mail.calendar_method
    [event] = cal.walk("VEVENT")
    assert str(event["UID"]) == BOOKING["uid"]
    assert int(event["SEQUENCE"]) == params["sequence"]
    assert str(event["STATUS"]) == (
        "CANCELLED" if kind in GONE else "TENTATIVE" if status == "pending" else "CONFIRMED"
    )
    assert str(event["ORGANIZER"]) == "mailto:ne-pas-repondre@exemple.fr"
    assert event["ORGANIZER"].params["CN"] == "EHPAD Les Tilleuls"
    assert str(event["ATTENDEE"]) == "mailto:jeanne.martin@exemple.test"
    assert event["ATTENDEE"].params["RSVP"] == "FALSE"


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_cancelled_by_staff_or_declined_gives_the_reason(lang):
    _fr = lang == "fr"
    by_staff = {**BOOKING, "status": "cancelled", "by_staff": True, "reason": "Orage annoncé"}
    text = render(Kind.BOOKING_CANCELLED, by_staff, lang, SETTINGS).text
    assert (
        "EHPAD Les Tilleuls a annulé votre réservation."
        if _fr
        else "EHPAD Les Tilleuls has cancelled your booking."
    ) in text
    assert ("Motif : Orage annoncé" if _fr else "Reason: Orage annoncé") in text
    own = render(Kind.BOOKING_CANCELLED, {**BOOKING, "status": "cancelled"}, lang, SETTINGS)
    assert "Orage" not in own.text
    declined = {**BOOKING, "status": "declined", "reason": "Jardin réservé à l'atelier"}
    text = render(Kind.BOOKING_DECLINED, declined, lang, SETTINGS).text
    assert "Jardin réservé à l'atelier" in text


def test_a_guest_without_account_gets_the_place_page_and_no_attendee_without_email():
    guest = {**BOOKING, "name": "Mme Martin", "email": "", "path": "/ressources/abc"}
    mail = render(Kind.BOOKING_CONFIRMED, guest, "fr", SETTINGS)
    assert "Voir le lieu et ses créneaux : https://reservations.exemple.fr/ressources/abc" in (
        mail.text
    )
    [event] = icalendar.Calendar.from_ical(mail.calendar).walk("VEVENT")
    assert "ATTENDEE" not in event


def test_html_escapes_what_people_typed_and_loads_nothing_remote():
    params = {
        **BOOKING,
        "name": '<script>alert("x")</script>',
        "asset": "Jardin <b>&</b>",
        "status": "cancelled",
        "by_staff": True,
        "reason": "<img src=https://evil.test/p.gif>",
    }
    mail = render(Kind.BOOKING_CANCELLED, params, "fr", SETTINGS)
    page = mail.html or ""
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<b>" not in page and "<img" not in page.lower()
    links = re.findall(r"(?:href|src)=\"([^\"]+)\"", page)
    assert links == ["https://reservations.exemple.fr/mes-reservations"]
    assert "<script>" in mail.text  # the plain-text part is plain text


@pytest.mark.parametrize(
    ("lang", "subject", "pickup", "to_pay"),
    [
        (
            "fr",
            "Commande de repas confirmée : déjeuner du mardi 6 avril 2027",
            "mardi 6 avril 2027, entre 12 h 15 et 12 h 30",
            "9,50 €, à payer au comptoir",
        ),
        (
            "en",
            "Meal order confirmed: lunch on Tuesday, 6 April 2027",
            "Tuesday, 6 April 2027, between 12:15 and 12:30",
            "€9.50, to pay at the counter",
        ),
    ],
)
def test_order_confirmed_says_dishes_pickup_and_amount(lang, subject, pickup, to_pay):
    mail = render(Kind.ORDER_CONFIRMED, ORDER, lang, SETTINGS)
    assert plain(mail.subject) == subject
    text = plain(mail.text)
    assert "1 × Curry de légumes, riz basmati" in text
    assert pickup in text
    assert to_pay in text
    assert f"https://reservations.exemple.fr{ORDER['path']}" in text
    cal = icalendar.Calendar.from_ical(mail.calendar)
    assert str(cal["METHOD"]) == "REQUEST"
    [event] = cal.walk("VEVENT")
    assert (str(event["UID"]), int(event["SEQUENCE"])) == (ORDER["uid"], 0)


def test_order_paid_free_cancelled_and_ready():
    paid = plain(render(Kind.ORDER_CONFIRMED, {**ORDER, "paid": True}, "fr", SETTINGS).text)
    assert "9,50 €, déjà payé" in paid
    free = render(Kind.ORDER_CONFIRMED, {**ORDER, "total_cents": 0}, "fr", SETTINGS).text
    assert "rien à payer" in free
    cancelled = render(Kind.ORDER_CANCELLED, {**ORDER, "sequence": 1}, "en", SETTINGS)
    assert cancelled.subject == "Meal order cancelled: lunch on Tuesday, 6 April 2027"
    cal = icalendar.Calendar.from_ical(cancelled.calendar)
    [event] = cal.walk("VEVENT")
    assert (str(cal["METHOD"]), int(event["SEQUENCE"]), str(event["STATUS"])) == (
        "CANCEL",
        1,
        "CANCELLED",
    )
    ready = render(Kind.ORDER_READY, ORDER, "fr", SETTINGS)
    assert ready.subject == "Votre repas est prêt : commande 1A2B3C"
    assert "venez le chercher au comptoir de CHRS Le Relais" in ready.text
    assert ready.calendar is None


@pytest.mark.parametrize(
    ("lang", "subject", "said"),
    [
        (
            "fr",
            "Demandes de réservation à examiner : EHPAD Les Tilleuls",
            "reçues le mardi 6 avril 2027 entre 10 h 00 et 11 h 00",
        ),
        (
            "en",
            "Booking requests to review: EHPAD Les Tilleuls",
            "received on Tuesday, 6 April 2027 between 10:00 and 11:00",
        ),
    ],
)
def test_staff_digest(lang, subject, said):
    mail = render(Kind.STAFF_DIGEST, DIGEST, lang, SETTINGS)
    assert mail.subject == subject
    assert said in mail.text
    assert "https://reservations.exemple.fr/structures/ehpad-les-tilleuls/tableau" in mail.text
    assert mail.calendar is None


def test_a_phone_notice_does_not_mention_an_attachment():
    phone = {**BOOKING, "email": "", "name": "Mme Martin"}
    text = render(Kind.BOOKING_CONFIRMED, phone, "fr", SETTINGS).text
    assert "invitation" not in text
    assert "invitation jointe" in render(Kind.BOOKING_CONFIRMED, BOOKING, "fr", SETTINGS).text
