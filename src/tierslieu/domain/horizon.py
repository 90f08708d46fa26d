"""The date horizon: the one check every date or datetime input goes through.

Nothing before ``EARLIEST_DATE`` nor later than today + ``DATE_HORIZON_DAYS`` is
accepted, whoever asks (staff included). Besides refusing typos such as 2206 for
2026, it bounds every schedule expansion (slots, opening periods, holidays) to a
few years, and keeps date arithmetic far from ``date.min``/``date.max``.
"""

from __future__ import annotations

import datetime as dt

from tierslieu.errors import DomainError, FieldError
from tierslieu.i18n import N_
from tierslieu.settings import DATE_HORIZON_DAYS, EARLIEST_DATE


class DateOutOfRange(DomainError):
    code = "date-out-of-range"
    status = 422
    title = N_("Date hors limites")
    detail = N_("Les dates acceptées vont du {earliest} au {latest}.")


def latest_date(today: dt.date) -> dt.date:
    """The last date any input may name."""
    return today + dt.timedelta(days=DATE_HORIZON_DAYS)


def check_date(value: dt.date, *, today: dt.date, field: str) -> dt.date:
    """``value`` itself, or DateOutOfRange naming ``field``.

    A datetime is judged by its own wall-clock date (no time-zone arithmetic, which
    could overflow on 9999-12-31 or 0001-01-01 before the check runs).
    """
    day = value.date() if isinstance(value, dt.datetime) else value
    latest = latest_date(today)
    if not EARLIEST_DATE <= day <= latest:
        params = {"earliest": EARLIEST_DATE, "latest": latest}  # formatted when shown
        raise DateOutOfRange(params, fields=[FieldError(field, "date-out-of-range", params)])
    return value


def check_dates(today: dt.date, **values: dt.date | dt.datetime | None) -> None:
    """``check_date`` on every value given by name, skipping the ones that are None."""
    for field, value in values.items():
        if value is not None:
            check_date(value, today=today, field=field)
