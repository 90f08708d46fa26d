"""Booking states and the rules a booking request must satisfy (pure functions)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from tierslieu.errors import DomainError


class BookingStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    DECLINED = "declined"
    ATTENDED = "attended"
    NO_SHOW = "no_show"


# Bookings that hold places or time (cancelled and declined ones have released theirs).
ACTIVE_STATUSES = (
    BookingStatus.PENDING,
    BookingStatus.CONFIRMED,
    BookingStatus.ATTENDED,
    BookingStatus.NO_SHOW,
)
CANCELLABLE_STATUSES = (BookingStatus.PENDING, BookingStatus.CONFIRMED)
ATTENDANCE_STATUSES = (BookingStatus.ATTENDED, BookingStatus.NO_SHOW)


# --- refusals --------------------------------------------------------------------


class BookingRefused(DomainError):
    status = 422


class AudienceNotAllowed(DomainError):
    code = "audience-not-allowed"
    status = 403
    messages = {
        "fr": (
            "Réservation non ouverte à votre profil",
            "Cette ressource est réservée à : {audience}.",
        ),
        "en": ("Not open to you", "This asset is open to: {audience}."),
    }


class OutsideBookingWindow(BookingRefused):
    code = "outside-booking-window"
    messages = {
        "fr": (
            "Hors de la période de réservation",
            "On peut réserver au plus tôt {max_advance_days} jours à l'avance "
            "et au plus tard {min_notice_minutes} minutes avant le début.",
        ),
        "en": (
            "Outside the booking window",
            "Bookings open {max_advance_days} days ahead and close "
            "{min_notice_minutes} minutes before the start.",
        ),
    }


class OutsideOpeningHours(BookingRefused):
    code = "outside-opening-hours"
    messages = {
        "fr": (
            "En dehors des horaires d'ouverture",
            "La ressource n'est pas ouverte sur tout ce créneau.",
        ),
        "en": ("Outside opening hours", "The asset is not open for all of this period."),
    }


class AssetClosed(BookingRefused):
    code = "asset-closed"
    messages = {
        "fr": ("Fermeture", "La ressource est fermée à ce moment-là ({reason})."),
        "en": ("Closed", "The asset is closed at that time ({reason})."),
    }


class NotSlotAligned(BookingRefused):
    code = "not-slot-aligned"
    messages = {
        "fr": (
            "Créneau inexistant",
            "Le début et la fin doivent correspondre exactement à un créneau proposé.",
        ),
        "en": ("No such slot", "Start and end must match one of the offered slots exactly."),
    }


class InvalidPartySize(BookingRefused):
    code = "invalid-party-size"
    messages = {
        "fr": (
            "Nombre de personnes invalide",
            "Le nombre de personnes doit être compris entre 1 et {max_party_size}.",
        ),
        "en": ("Invalid party size", "The party size must be between 1 and {max_party_size}."),
    }


class InvalidInterval(BookingRefused):
    code = "invalid-interval"
    messages = {
        "fr": ("Horaires incohérents", "Le début doit précéder la fin."),
        "en": ("Inconsistent times", "The start must come before the end."),
    }


class InThePast(BookingRefused):
    code = "in-the-past"
    messages = {
        "fr": ("Créneau passé", "Ce créneau est déjà commencé ou passé."),
        "en": ("In the past", "This period has already started or is over."),
    }


class SlotFull(DomainError):
    code = "slot-full"
    status = 409
    messages = {
        "fr": (
            "Créneau complet",
            "Il reste {remaining} place(s) sur ce créneau, vous en demandez {requested}.",
        ),
        "en": ("Slot full", "{remaining} place(s) left in this slot, you asked for {requested}."),
    }


class IntervalTaken(DomainError):
    code = "interval-taken"
    status = 409
    messages = {
        "fr": ("Déjà réservé", "Une autre réservation occupe déjà tout ou partie de ce créneau."),
        "en": ("Already booked", "Another booking already holds all or part of this period."),
    }


class NotCancellable(DomainError):
    code = "not-cancellable"
    status = 409
    messages = {
        "fr": (
            "Annulation impossible",
            "Cette réservation ne peut plus être annulée en ligne ; contactez la structure.",
        ),
        "en": (
            "Cannot cancel",
            "This booking can no longer be cancelled online; contact the structure.",
        ),
    }


class InvalidTransition(DomainError):
    code = "invalid-status-change"
    status = 409
    messages = {
        "fr": (
            "Changement d'état impossible",
            "La réservation est « {status} » : ce changement n'est pas possible.",
        ),
        "en": (
            "Status change not possible",
            "The booking is “{status}”: this change is not possible.",
        ),
    }


class AttendanceTooEarly(DomainError):
    code = "attendance-too-early"
    status = 409
    messages = {
        "fr": ("Trop tôt", "La présence se note à partir du début du créneau."),
        "en": ("Too early", "Attendance can be recorded from the start of the slot."),
    }


class GuestNotAllowed(DomainError):
    code = "guest-not-allowed"
    status = 403
    messages = {
        "fr": (
            "Réservation pour un tiers réservée à l'équipe",
            "Seule l'équipe de la structure peut réserver au nom d'une autre personne.",
        ),
        "en": (
            "Booking on behalf is for staff",
            "Only the structure's staff can book on behalf of another person.",
        ),
    }


class TooManyActiveBookings(DomainError):
    code = "too-many-bookings"
    status = 429
    messages = {
        "fr": (
            "Trop de réservations en cours",
            "Vous avez déjà {limit} réservations à venir dans cette structure.",
        ),
        "en": (
            "Too many bookings",
            "You already have {limit} upcoming bookings in this structure.",
        ),
    }


class RangeTooLong(BookingRefused):
    code = "range-too-long"
    messages = {
        "fr": ("Période trop longue", "La période demandée ne peut pas dépasser {max_days} jours."),
        "en": ("Period too long", "The requested period cannot exceed {max_days} days."),
    }


# --- pure checks ---------------------------------------------------------------------


AUDIENCE_LABELS_FR = {
    "residents": "résidents",
    "neighbours": "habitants du quartier",
    "professionals": "professionnels",
    "public": "tout public",
}
# A person may book an asset only if their kind is in its audience (or it is public).
KIND_AUDIENCE = {"neighbour": "neighbours", "professional": "professionals"}
MAX_ACTIVE_BOOKINGS_PER_STRUCTURE = 20


def check_audience(audience: list[str], person_kind: str, is_staff: bool) -> None:
    """Staff book for anyone (residents included); others by their kind or a public asset."""
    if is_staff or "public" in audience or KIND_AUDIENCE.get(person_kind) in audience:
        return
    raise AudienceNotAllowed(
        {"audience": ", ".join(AUDIENCE_LABELS_FR.get(a, a) for a in audience)}
    )


def check_times(starts_at: dt.datetime, ends_at: dt.datetime, now: dt.datetime) -> None:
    if starts_at >= ends_at:
        raise InvalidInterval()
    if starts_at <= now:
        raise InThePast()


def check_window(
    starts_at: dt.datetime, now: dt.datetime, *, min_notice_minutes: int, max_advance_days: int
) -> None:
    too_soon = starts_at < now + dt.timedelta(minutes=min_notice_minutes)
    too_far = starts_at > now + dt.timedelta(days=max_advance_days)
    if too_soon or too_far:
        raise OutsideBookingWindow(
            {"min_notice_minutes": min_notice_minutes, "max_advance_days": max_advance_days}
        )


def check_party_size(party_size: int, max_party_size: int) -> None:
    if not 1 <= party_size <= max_party_size:
        raise InvalidPartySize({"max_party_size": max_party_size})


def owner_may_cancel(starts_at: dt.datetime, now: dt.datetime, cancel_until_minutes: int) -> bool:
    return now <= starts_at - dt.timedelta(minutes=cancel_until_minutes)
