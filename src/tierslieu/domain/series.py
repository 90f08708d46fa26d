"""Recurring bookings: the occurrences of « every N weeks », on the wall clock (pure).

A series repeats the first occurrence's *local* wall-clock times, so « every Tuesday at
10:00 » stays at 10:00 in the structure's zone across the daylight-saving changes (the UTC
instants move by an hour, the wall clock does not). Occurrences are naive local datetimes
here; the booking service turns each into UTC through ``domain.localtime`` (one in the
spring-forward gap is refused there and skipped like any other refused occurrence).

Bounds, checked before anything is booked: at most ``MAX_OCCURRENCES`` occurrences, and
the last one no later than ``latest`` (the caller's booking horizon: the asset's
``max_advance_days`` for people, the service's date horizon for staff).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tierslieu.domain import localtime
from tierslieu.errors import DomainError
from tierslieu.i18n import N_, Texts

MAX_OCCURRENCES = 52
MAX_EVERY_WEEKS = 26

# Refusals of one occurrence that do not condemn the others: the occurrence is skipped and
# listed (or, with ``all_or_nothing``, the whole series is refused). Any other refusal
# (audience, party size, guest, unknown asset…) is the request's and refuses it at once.
# « quota-reached » belongs to the fair-use rules (issue 13), when they exist.
SKIPPABLE_CODES = frozenset(
    {
        "slot-full",
        "interval-taken",
        "asset-closed",
        "outside-opening-hours",
        "not-slot-aligned",
        "in-the-past",
        "outside-booking-window",
        "too-many-bookings",
        "date-out-of-range",
        "quota-reached",
        "nonexistent-local-time",
    }
)


@dataclass(frozen=True, slots=True)
class Repeat:
    """Every ``every_weeks`` weeks, ``count`` times or until the local date ``until``."""

    every_weeks: int
    count: int | None = None
    until: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence in local wall-clock time (naive datetimes in the structure's zone)."""

    index: int
    starts_at: dt.datetime
    ends_at: dt.datetime


class RepeatInvalid(DomainError):
    code = "repeat-invalid"
    status = 422
    title = N_("Répétition incomplète")
    detail = N_(
        "Indiquez soit un nombre de séances, soit une date de fin qui ne précède pas "
        "la première séance."
    )


class RepeatTooLong(DomainError):
    code = "repeat-too-long"
    status = 422
    title = N_("Série trop longue")
    detail = N_("Une série compte au plus {max} séances, la dernière au plus tard le {latest}.")
    formats = {"latest": "date"}


class SeriesRefused(DomainError):
    code = "series-refused"
    status = 409
    title = N_("Série non réservée")
    detail = N_("Certaines séances ne peuvent pas être réservées : rien n'a été réservé.")

    @classmethod
    def describe(cls, _: Texts, params: dict[str, Any]) -> str:
        return _.ngettext(
            "{n} séance ne peut pas être réservée : rien n'a été réservé.",
            "{n} séances ne peuvent pas être réservées : rien n'a été réservé.",
            int(params.get("skipped", 0)),
        )


def wall_clock(moment: dt.datetime, tz: localtime.Zone) -> dt.datetime:
    """A requested time as a naive local wall-clock time (an aware one is converted)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(localtime.zone(tz)).replace(tzinfo=None)


def occurrences(
    starts_at: dt.datetime, ends_at: dt.datetime, repeat: Repeat, *, latest: dt.date
) -> list[Occurrence]:
    """The occurrences of a series whose first one is ``starts_at``–``ends_at`` (naive local).

    Each is the first shifted by whole weeks on the wall clock. RepeatInvalid without
    exactly one of ``count``/``until`` (or an ``until`` before the first day); RepeatTooLong
    beyond ``MAX_OCCURRENCES`` or past ``latest``.
    """
    if repeat.every_weeks < 1 or (repeat.count is None) == (repeat.until is None):
        raise RepeatInvalid()
    step_days = 7 * repeat.every_weeks
    if repeat.count is not None:
        if repeat.count < 1:
            raise RepeatInvalid()
        n = repeat.count
    else:
        assert repeat.until is not None
        span = (repeat.until - starts_at.date()).days
        if span < 0:
            raise RepeatInvalid()
        n = span // step_days + 1
    too_long = RepeatTooLong({"max": MAX_OCCURRENCES, "latest": latest})
    if n > MAX_OCCURRENCES:
        raise too_long
    step = dt.timedelta(days=step_days)
    if (starts_at + step * (n - 1)).date() > latest:
        raise too_long
    return [Occurrence(k, starts_at + step * k, ends_at + step * k) for k in range(n)]


def refusal_code(exc: DomainError) -> str:
    """The code a refused occurrence is listed with (a field's message for invalid input)."""
    if exc.code == "validation-error" and exc.fields:
        return exc.fields[0].message_code
    return exc.code


def is_skippable(exc: DomainError) -> bool:
    """Whether a refusal concerns only its occurrence (skip it), not the whole series."""
    return refusal_code(exc) in SKIPPABLE_CODES


def refusal_title(code: str, lang: str) -> str:
    """Why an occurrence was skipped, in a few words in ``lang`` (its problem's title, or
    the field message of a time in the spring-forward gap)."""
    from tierslieu import i18n
    from tierslieu.errors import problem_class

    cls = problem_class(code)
    if cls.code == code:
        return i18n.gettext(lang, cls.title)
    if code in i18n.FIELD_MESSAGES:
        return i18n.gettext(lang, i18n.FIELD_MESSAGES[code])
    return code
