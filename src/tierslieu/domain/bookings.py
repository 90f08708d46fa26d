"""Booking states and the rules a booking request must satisfy (pure functions)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from tierslieu.errors import DomainError
from tierslieu.i18n import N_, Texts


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
    title = N_("Réservation non ouverte à votre profil")
    detail = N_("Cette ressource est réservée à : {audience}.")
    formats = {"audience": "labels:audience"}


class OutsideBookingWindow(BookingRefused):
    code = "outside-booking-window"
    title = N_("Hors de la période de réservation")
    detail = N_(
        "On peut réserver au plus tôt {days} à l'avance et au plus tard {minutes} avant le début."
    )

    @classmethod
    def describe(cls, _: Texts, params: dict[str, Any]) -> str:
        days = _.ngettext("{n} jour", "{n} jours", int(params.get("max_advance_days", 0)))
        minutes = _.ngettext("{n} minute", "{n} minutes", int(params.get("min_notice_minutes", 0)))
        return _(cls.detail, days=days, minutes=minutes)


class OutsideOpeningHours(BookingRefused):
    code = "outside-opening-hours"
    title = N_("En dehors des horaires d'ouverture")
    detail = N_("La ressource n'est pas ouverte sur tout ce créneau.")


class AssetClosed(BookingRefused):
    code = "asset-closed"
    title = N_("Fermeture")
    detail = N_("La ressource est fermée à ce moment-là ({reason}).")

    @classmethod
    def describe(cls, _: Texts, params: dict[str, Any]) -> str:
        reason = str(params.get("reason") or "")
        if reason in {"", "fermeture"}:  # no reason given (services pass « fermeture »)
            return _("La ressource est fermée à ce moment-là.")
        return _(cls.detail, reason=reason)


class NotSlotAligned(BookingRefused):
    code = "not-slot-aligned"
    title = N_("Créneau inexistant")
    detail = N_("Le début et la fin doivent correspondre exactement à un créneau proposé.")


class InvalidPartySize(BookingRefused):
    code = "invalid-party-size"
    title = N_("Nombre de personnes invalide")
    detail = N_("Le nombre de personnes doit être compris entre 1 et {max_party_size}.")


class InvalidInterval(BookingRefused):
    code = "invalid-interval"
    title = N_("Horaires incohérents")
    detail = N_("Le début doit précéder la fin.")


class InThePast(BookingRefused):
    code = "in-the-past"
    title = N_("Créneau passé")
    detail = N_("Ce créneau est déjà commencé ou passé.")


class SlotFull(DomainError):
    code = "slot-full"
    status = 409
    title = N_("Créneau complet")
    detail = N_("Ce créneau vient d'être complet.")

    @classmethod
    def describe(cls, _: Texts, params: dict[str, Any]) -> str:
        remaining = int(params.get("remaining") or 0)
        if remaining <= 0:
            return _(cls.detail)
        return _.ngettext(
            "Il ne reste qu'une place sur ce créneau, vous en demandez {requested}.",
            "Il ne reste que {n} places sur ce créneau, vous en demandez {requested}.",
            remaining,
            requested=params.get("requested", ""),
        )


class IntervalTaken(DomainError):
    code = "interval-taken"
    status = 409
    title = N_("Déjà réservé")
    detail = N_("Une autre réservation occupe déjà tout ou partie de ce créneau.")


class NotCancellable(DomainError):
    code = "not-cancellable"
    status = 409
    title = N_("Réservation non annulable")
    detail = N_("Cette réservation ne peut plus être annulée en ligne ; contactez la structure.")


class InvalidTransition(DomainError):
    code = "invalid-status-change"
    status = 409
    title = N_("Changement d'état impossible")
    detail = N_("La réservation est « {status} » : ce changement n'est pas possible.")
    formats = {"status": "label:status"}


class AttendanceTooEarly(DomainError):
    code = "attendance-too-early"
    status = 409
    title = N_("Trop tôt")
    detail = N_("La présence se note à partir du début du créneau.")


class GuestNotAllowed(DomainError):
    code = "guest-not-allowed"
    status = 403
    title = N_("Réservation pour un tiers réservée à l'équipe")
    detail = N_("Seule l'équipe de la structure peut réserver au nom d'une autre personne.")


class TooManyActiveBookings(DomainError):
    code = "too-many-bookings"
    status = 429
    title = N_("Trop de réservations en cours")
    detail = N_("Vous avez déjà {limit} réservations à venir dans cette structure.")

    @classmethod
    def describe(cls, _: Texts, params: dict[str, Any]) -> str:
        return _.ngettext(
            "Vous avez déjà {n} réservation à venir dans cette structure.",
            "Vous avez déjà {n} réservations à venir dans cette structure.",
            int(params.get("limit", 0)),
        )


class RangeTooLong(BookingRefused):
    code = "range-too-long"
    title = N_("Période trop longue")
    detail = N_("La période demandée ne peut pas dépasser {max_days} jours.")

    @classmethod
    def describe(cls, _: Texts, params: dict[str, Any]) -> str:
        return _.ngettext(
            "La période demandée ne peut pas dépasser {n} jour.",
            "La période demandée ne peut pas dépasser {n} jours.",
            int(params.get("max_days", 0)),
        )


# --- pure checks ---------------------------------------------------------------------


# A person may book an asset only if their kind is in its audience (or it is public).
KIND_AUDIENCE = {"neighbour": "neighbours", "professional": "professionals"}
MAX_ACTIVE_BOOKINGS_PER_STRUCTURE = 20


def check_audience(audience: list[str], person_kind: str, is_staff: bool) -> None:
    """Staff book for anyone (residents included); others by their kind or a public asset."""
    if is_staff or "public" in audience or KIND_AUDIENCE.get(person_kind) in audience:
        return
    raise AudienceNotAllowed({"audience": list(audience)})


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
