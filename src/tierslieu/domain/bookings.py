"""Booking states and the rules a booking request must satisfy (pure functions)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol, TypeVar

from tierslieu.domain import localtime
from tierslieu.domain.accounts import clean_person_name
from tierslieu.domain.horizon import check_dates
from tierslieu.domain.slots import Period, Slot
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

# Every status change, in one table: the statuses a booking may be in to move to the key.
# (Approve/decline a pending one; cancel an active one that has not happened; check in or
# mark a no-show on a confirmed one, and correct it either way.) The service applies the
# change as a compare-and-swap ``UPDATE … WHERE status IN allowed_from(target)``.
ALLOWED_FROM: Mapping[BookingStatus, frozenset[BookingStatus]] = {
    BookingStatus.PENDING: frozenset(),
    BookingStatus.CONFIRMED: frozenset({BookingStatus.PENDING}),
    BookingStatus.DECLINED: frozenset({BookingStatus.PENDING}),
    BookingStatus.CANCELLED: frozenset(CANCELLABLE_STATUSES),
    BookingStatus.ATTENDED: frozenset({BookingStatus.CONFIRMED, BookingStatus.NO_SHOW}),
    BookingStatus.NO_SHOW: frozenset({BookingStatus.CONFIRMED, BookingStatus.ATTENDED}),
}


def allowed_from(target: BookingStatus) -> frozenset[BookingStatus]:
    """The statuses from which a booking may move to ``target`` (empty: never)."""
    return ALLOWED_FROM[target]


def may_change(current: BookingStatus | str, target: BookingStatus) -> bool:
    return BookingStatus(current) in ALLOWED_FROM[target]


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


def cancel_deadline(starts_at: dt.datetime, cancel_until_minutes: int) -> dt.datetime:
    """The last instant the person who booked may cancel online (inclusive)."""
    return starts_at - dt.timedelta(minutes=cancel_until_minutes)


def owner_may_cancel(starts_at: dt.datetime, now: dt.datetime, cancel_until_minutes: int) -> bool:
    return now <= cancel_deadline(starts_at, cancel_until_minutes)


# --- a booking request -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Guest:
    """A person without an account, booked by staff (often on the phone)."""

    name: str
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class CreateBooking:
    """The command to book: times with an offset, or wall-clock times in the structure's zone."""

    asset_id: uuid.UUID
    starts_at: dt.datetime
    ends_at: dt.datetime
    party_size: int
    note: str = ""
    guest: Guest | None = None


@dataclass(frozen=True, slots=True)
class AssetRules:
    """What of an asset a booking request is checked against."""

    audience: Sequence[str]
    timezone: str
    min_notice_minutes: int
    max_advance_days: int
    max_party_size: int
    requires_approval: bool = False


@dataclass(frozen=True, slots=True)
class AcceptedBooking:
    """A request that passed every check: its UTC period, the cleaned guest, its status."""

    period: Period
    guest: Guest | None
    status: BookingStatus


def check_request(
    req: CreateBooking,
    asset: AssetRules,
    *,
    now: dt.datetime,
    person_kind: str,
    is_staff: bool,
    active_bookings: int = 0,
) -> AcceptedBooking:
    """Every check of a booking request that needs no other booking, in this order:
    guest (staff only, a printable name), audience, horizon, the times (local ones
    through ``localtime``: a time in the spring gap is refused), the booking window and
    the active-bookings limit (not for staff), the party size. Staff bookings are
    confirmed; others are pending when the asset requires approval.
    """
    guest = req.guest
    if guest is not None and not is_staff:
        raise GuestNotAllowed()
    if guest is not None:
        # The name is printed on sheets and feeds: no blank, bidi-override or invisible name.
        guest = replace(guest, name=clean_person_name(guest.name, "guest.name"))
    else:
        check_audience(list(asset.audience), person_kind, is_staff)
    check_dates(now.date(), starts_at=req.starts_at, ends_at=req.ends_at)  # staff included
    starts_at = localtime.typed_to_utc(req.starts_at, asset.timezone, "starts_at")
    ends_at = localtime.typed_to_utc(req.ends_at, asset.timezone, "ends_at")
    check_times(starts_at, ends_at, now)
    if not is_staff:
        check_window(
            starts_at,
            now,
            min_notice_minutes=asset.min_notice_minutes,
            max_advance_days=asset.max_advance_days,
        )
        if active_bookings >= MAX_ACTIVE_BOOKINGS_PER_STRUCTURE:
            raise TooManyActiveBookings({"limit": MAX_ACTIVE_BOOKINGS_PER_STRUCTURE})
    check_party_size(req.party_size, asset.max_party_size)
    pending = asset.requires_approval and not is_staff
    return AcceptedBooking(
        Period(starts_at, ends_at),
        guest,
        BookingStatus.PENDING if pending else BookingStatus.CONFIRMED,
    )


class _Closure(Protocol):
    @property
    def reason(self) -> str: ...


C = TypeVar("C", bound=_Closure)


def match_slot(requested: Period, slots: Iterable[tuple[Slot, C | None]]) -> tuple[Slot, C | None]:
    """The offered slot a shared-asset request books exactly, or why not.

    OutsideOpeningHours: no slot overlaps; NotSlotAligned: none has exactly these start and
    end; AssetClosed: that slot lies in a closure.
    """
    overlapping = [s for s in slots if s[0].period.overlaps(requested)]
    if not overlapping:
        raise OutsideOpeningHours()
    match = next(
        (
            s
            for s in overlapping
            if s[0].starts_at == requested.starts_at and s[0].ends_at == requested.ends_at
        ),
        None,
    )
    if match is None:
        raise NotSlotAligned()
    if match[1] is not None:
        raise AssetClosed({"reason": match[1].reason or "fermeture"})
    return match


def check_interval(requested: Period, opening: Iterable[Period], closure: _Closure | None) -> None:
    """An exclusive-asset request lies inside one opening period and in no closure."""
    if not any(p.contains(requested) for p in opening):
        raise OutsideOpeningHours()
    if closure is not None:
        raise AssetClosed({"reason": closure.reason or "fermeture"})
