"""Booking states and the rules a booking request must satisfy (pure functions)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from tierslieu.domain import localtime
from tierslieu.domain.accounts import clean_person_name
from tierslieu.domain.horizon import check_dates
from tierslieu.domain.slots import Period, Slot
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


TOO_SOON = "too-soon"
TOO_FAR = "too-far"


def window_refusal(
    starts_at: dt.datetime, now: dt.datetime, *, min_notice_minutes: int, max_advance_days: int
) -> str | None:
    """Why a person (staff are not held to it) cannot book a period starting at
    ``starts_at`` now: ``TOO_SOON``, ``TOO_FAR``, or None when the booking window allows it.
    The asset page and ``check_window`` both ask this, so a slot offered is a slot accepted."""
    if starts_at < now + dt.timedelta(minutes=min_notice_minutes):
        return TOO_SOON
    if starts_at > now + dt.timedelta(days=max_advance_days):
        return TOO_FAR
    return None


def opens_for_booking(starts_at: dt.datetime, max_advance_days: int) -> dt.datetime:
    """The first moment a period starting at ``starts_at`` can be booked (not by staff)."""
    return starts_at - dt.timedelta(days=max_advance_days)


def check_window(
    starts_at: dt.datetime, now: dt.datetime, *, min_notice_minutes: int, max_advance_days: int
) -> None:
    if window_refusal(
        starts_at, now, min_notice_minutes=min_notice_minutes, max_advance_days=max_advance_days
    ):
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
