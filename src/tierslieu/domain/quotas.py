"""Fair use of an asset: how much one person may hold (CommonsBooking's rules, OWASP API6).

Staff set, per asset, any of: bookings per person per week, per calendar month, hours per
week (rooms), bookings to come. A person is every account and contact known by the same
e-mail address or phone (``services.quotas`` gathers them), so two accounts made for the
purpose hold no more than one. Weeks (Monday to Sunday) and months are those of the place's
clock. Only bookings that hold places count: confirmed or awaiting approval.

``check`` is pure: the person's bookings on the asset in, a refusal out, saying when the next
booking becomes possible.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from tierslieu.errors import DomainError
from tierslieu.i18n import N_, Texts

# Bounds staff can set (the API's schema uses the same).
MAX_BOOKINGS_PER_WEEK = 50
MAX_BOOKINGS_PER_MONTH = 200
MAX_HOURS_PER_WEEK = 168
MAX_UPCOMING = 100


class Rule(StrEnum):
    PER_WEEK = "per-week"
    PER_MONTH = "per-month"
    HOURS_PER_WEEK = "hours-per-week"
    UPCOMING = "upcoming"


@dataclass(frozen=True, slots=True)
class Quotas:
    """An asset's limits per person; ``None``: no limit."""

    bookings_per_week: int | None = None
    bookings_per_month: int | None = None
    hours_per_week: int | None = None
    upcoming: int | None = None

    def __bool__(self) -> bool:
        return any(
            v is not None
            for v in (
                self.bookings_per_week,
                self.bookings_per_month,
                self.hours_per_week,
                self.upcoming,
            )
        )


@dataclass(frozen=True, slots=True)
class Held:
    """One booking the person holds on the asset (confirmed or awaiting approval)."""

    starts_at: dt.datetime
    ends_at: dt.datetime


class QuotaReached(DomainError):
    code = "quota-reached"
    status = 422
    title = N_("Limite de réservations atteinte")
    detail = N_("Limite atteinte.")

    @classmethod
    def describe(cls, _: Texts, params: dict[str, Any]) -> str:
        limit = int(params.get("limit", 0))
        rule = params.get("rule")
        when = params.get("next_possible")
        if rule == Rule.PER_WEEK:
            said = _.ngettext(
                "Cette ressource se réserve au plus {n} fois par semaine et par personne.",
                "Cette ressource se réserve au plus {n} fois par semaine et par personne.",
                limit,
            )
        elif rule == Rule.PER_MONTH:
            said = _.ngettext(
                "Cette ressource se réserve au plus {n} fois par mois et par personne.",
                "Cette ressource se réserve au plus {n} fois par mois et par personne.",
                limit,
            )
        elif rule == Rule.HOURS_PER_WEEK:
            said = _.ngettext(
                "Cette ressource se réserve au plus {n} heure par semaine et par personne.",
                "Cette ressource se réserve au plus {n} heures par semaine et par personne.",
                limit,
            )
        else:
            said = _.ngettext(
                "On ne peut avoir plus de {n} réservation à venir sur cette ressource.",
                "On ne peut avoir plus de {n} réservations à venir sur cette ressource.",
                limit,
            )
        if when:
            if rule == Rule.UPCOMING:
                said += " " + _(
                    "Une nouvelle réservation sera possible après le {date}.", date=when
                )
            else:
                said += " " + _("Prochaine réservation possible à partir du {date}.", date=when)
        return said


class QuotaOverrideNotAllowed(DomainError):
    code = "quota-override-not-allowed"
    status = 403
    title = N_("Dépassement réservé à l'équipe")
    detail = N_("Seule l'équipe de la structure peut réserver au-delà de la limite d'une personne.")


def check(
    quotas: Quotas,
    held: Sequence[Held],
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    *,
    now: dt.datetime,
    timezone: str,
) -> None:
    """Refuse (``QuotaReached``) a booking from ``starts_at`` to ``ends_at`` that would put the
    person over one of ``quotas``, given the bookings they already ``held`` on the asset."""
    if not quotas:
        return
    tz = ZoneInfo(timezone)
    day = starts_at.astimezone(tz).date()
    monday = day - dt.timedelta(days=day.weekday())
    same_week = [h for h in held if _monday(h.starts_at, tz) == monday]
    if quotas.bookings_per_week is not None and len(same_week) >= quotas.bookings_per_week:
        raise _reached(Rule.PER_WEEK, quotas.bookings_per_week, monday + dt.timedelta(days=7))
    if quotas.hours_per_week is not None:
        hours = sum(((h.ends_at - h.starts_at) for h in same_week), ends_at - starts_at)
        if hours > dt.timedelta(hours=quotas.hours_per_week):
            raise _reached(Rule.HOURS_PER_WEEK, quotas.hours_per_week, monday + dt.timedelta(7))
    if quotas.bookings_per_month is not None:
        month = (day.year, day.month)
        same_month = [h for h in held if _month(h.starts_at, tz) == month]
        if len(same_month) >= quotas.bookings_per_month:
            following = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
            raise _reached(Rule.PER_MONTH, quotas.bookings_per_month, following)
    if quotas.upcoming is not None:
        coming = sorted(h.ends_at for h in held if h.ends_at > now)
        if len(coming) >= quotas.upcoming:
            # One place frees when the first of them is over.
            first_over = coming[len(coming) - quotas.upcoming]
            raise _reached(Rule.UPCOMING, quotas.upcoming, first_over.astimezone(tz).date())


def window(
    starts_at: dt.datetime, now: dt.datetime, timezone: str
) -> tuple[dt.datetime, dt.datetime]:
    """The stretch of time whose bookings ``check`` needs: from the start of the month (or
    week) of the requested day, or now, whichever is earlier, to the end of that month (or
    week): a bounded read, whatever the person holds elsewhere in time."""
    tz = ZoneInfo(timezone)
    day = starts_at.astimezone(tz).date()
    first = min(day.replace(day=1), day - dt.timedelta(days=day.weekday()))
    last = max(
        dt.date(day.year + day.month // 12, day.month % 12 + 1, 1),
        day + dt.timedelta(days=7 - day.weekday()),
    )
    since = dt.datetime.combine(first, dt.time(), tz).astimezone(dt.UTC)
    until = dt.datetime.combine(last, dt.time(), tz).astimezone(dt.UTC)
    return min(since, now), until


def _monday(moment: dt.datetime, tz: ZoneInfo) -> dt.date:
    day = moment.astimezone(tz).date()
    return day - dt.timedelta(days=day.weekday())


def _month(moment: dt.datetime, tz: ZoneInfo) -> tuple[int, int]:
    day = moment.astimezone(tz).date()
    return day.year, day.month


def _reached(rule: Rule, limit: int, next_possible: dt.date) -> QuotaReached:
    return QuotaReached(
        {"rule": rule.value, "limit": limit, "next_possible": next_possible},
        extra={"rule": rule.value, "limit": limit, "next_possible": next_possible.isoformat()},
    )
