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
    # On the waiting list of a full shared slot: holds no place, has a position.
    WAITLISTED = "waitlisted"


# Bookings that hold places or time (cancelled and declined ones have released theirs).
ACTIVE_STATUSES = (
    BookingStatus.PENDING,
    BookingStatus.CONFIRMED,
    BookingStatus.ATTENDED,
    BookingStatus.NO_SHOW,
)
CANCELLABLE_STATUSES = (BookingStatus.PENDING, BookingStatus.CONFIRMED)
ATTENDANCE_STATUSES = (BookingStatus.ATTENDED, BookingStatus.NO_SHOW)

# A waiting-list entry the person (or staff) may leave: it is cancelled like a booking.
LEAVABLE_STATUSES = (BookingStatus.WAITLISTED,)

# Every status change, in one table: the statuses a booking may be in to move to the key.
# (Approve/decline a pending one; cancel an active one that has not happened; check in or
# mark a no-show on a confirmed one, and correct it either way. A waiting-list entry is
# in none of them: ``services.waitlist`` promotes it with the places, in the slot
# counter's lock, or deletes it when the person leaves the list.) The service applies the
# change as a compare-and-swap ``UPDATE … WHERE status IN allowed_from(target)``.
ALLOWED_FROM: Mapping[BookingStatus, frozenset[BookingStatus]] = {
    BookingStatus.PENDING: frozenset(),
    BookingStatus.CONFIRMED: frozenset({BookingStatus.PENDING}),
    BookingStatus.DECLINED: frozenset({BookingStatus.PENDING}),
    BookingStatus.CANCELLED: frozenset(CANCELLABLE_STATUSES),
    BookingStatus.ATTENDED: frozenset({BookingStatus.CONFIRMED, BookingStatus.NO_SHOW}),
    BookingStatus.NO_SHOW: frozenset({BookingStatus.CONFIRMED, BookingStatus.ATTENDED}),
    BookingStatus.WAITLISTED: frozenset(),
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


class WaitlistFull(DomainError):
    code = "waitlist-full"
    status = 409
    title = N_("Liste d'attente complète")
    detail = N_("La liste d'attente de ce créneau est complète.")


class NotOnTheList(DomainError):
    code = "not-waitlisted"
    status = 409
    title = N_("Pas sur la liste d'attente")
    detail = N_("Cette réservation n'est pas (ou plus) sur une liste d'attente.")


class PartyDoesNotFit(DomainError):
    code = "places-missing"
    status = 409
    title = N_("Pas assez de places")
    detail = N_("Il n'y a pas assez de places libres pour cette inscription.")


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


class PersonRequired(DomainError):
    code = "person-required"
    status = 422
    title = N_("Pour qui est cette réservation ?")
    detail = N_(
        "L'équipe réserve toujours au nom d'une personne : choisissez un contact, "
        "un compte (adresse e-mail ou téléphone) ou donnez le nom de la personne."
    )


class OnePersonOnly(DomainError):
    code = "one-person-only"
    status = 422
    title = N_("Une seule personne")
    detail = N_(
        "Une réservation est pour une seule personne : donnez un contact, un compte "
        "ou un nom, pas plusieurs."
    )


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
class AccountRef:
    """An existing account staff book for, found by its e-mail or its phone."""

    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class CreateBooking:
    """The command to book: times with an offset, or wall-clock times in the structure's zone."""

    asset_id: uuid.UUID
    starts_at: dt.datetime
    ends_at: dt.datetime
    party_size: int
    note: str = ""
    # Staff booking on behalf: exactly one of these (a new contact, a known contact of the
    # structure, or an account that agreed to be found). Nobody else may use them.
    guest: Guest | None = None
    # Staff only: why they book over the person's fair-use limit (domain.quotas).
    quota_override: str = ""
    contact_id: uuid.UUID | None = None
    account: AccountRef | None = None

    @property
    def on_behalf(self) -> int:
        """How many ways of naming the person the request uses (0 or 1 is valid)."""
        return sum(x is not None for x in (self.guest, self.contact_id, self.account))

    # Join the slot's waiting list if it is full (assets with a waiting list).
    waitlist: bool = False
    # Set by services/series.py for each occurrence (never by a request).
    series_id: uuid.UUID | None = None


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
    the person (on behalf: staff only, one way of naming them; a guest has a printable
    name), audience, horizon, the times (local ones through ``localtime``: a time in the
    spring gap is refused), the booking window and the active-bookings limit (not for
    staff), the party size, and last that staff did name someone. Staff bookings are
    confirmed; others are pending when the asset requires approval.
    """
    guest = req.guest
    if req.on_behalf and not is_staff:
        raise GuestNotAllowed()
    if req.on_behalf > 1:
        raise OnePersonOnly()
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
    if is_staff and not req.on_behalf:
        # Staff who forget the name are asked, not silently booked for themselves.
        raise PersonRequired()
    if req.account is not None and not (req.account.email or req.account.phone):
        raise PersonRequired()
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
