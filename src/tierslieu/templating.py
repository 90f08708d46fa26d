"""Jinja environment for server-rendered HTML (printable sheets, pages); dates and money by Babel."""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal
from jinja2 import Environment, PackageLoader, select_autoescape

from tierslieu import i18n
from tierslieu.labels import label


def long_date(day: dt.date | dt.datetime, lang: str = "fr", tz: str | None = None) -> str:
    """« mardi 6 avril 2027 », « mardi 1er décembre 2026 » (the French ordinal on day 1)."""
    if isinstance(day, dt.datetime):
        day = day.astimezone(ZoneInfo(tz)) if tz else day
        day = day.date()
    text = format_date(day, format="full", locale=i18n.babel_locale(lang))
    if day.day == 1 and i18n.babel_locale(lang).startswith("fr"):
        text = re.sub(r"\b1 ", "1er ", text, count=1)
    return text


def clock(moment: dt.datetime, lang: str = "fr", tz: str | None = None) -> str:
    """« 10 h 00 » in French, « 10:00 » in English, in the structure's zone."""
    local = moment.astimezone(ZoneInfo(tz)) if tz else moment
    locale = i18n.babel_locale(lang)
    if locale.startswith("fr"):
        return f"{local.hour} h {local.minute:02d}"
    return format_time(local.time(), format="HH:mm", locale=locale)


def time_of_day(value: dt.time, lang: str = "fr") -> str:
    """A wall-clock time without a date (an opening rule): « 9 h 00 » in French, « 09:00 » in English."""
    locale = i18n.babel_locale(lang)
    if locale.startswith("fr"):
        return f"{value.hour} h {value.minute:02d}"
    return format_time(value, format="HH:mm", locale=locale)


def moment(value: dt.datetime, lang: str = "fr", tz: str | None = None) -> str:
    """« mardi 6 avril 2027, 10 h 00 » (date and time in the structure's zone)."""
    return f"{long_date(value, lang, tz)}, {clock(value, lang, tz)}"


def money(cents: int | None, lang: str = "fr") -> str:
    """Integer cents as euros: « 9,50 € » in French, « €9.50 » in English."""
    if cents is None:
        return ""
    return format_currency(cents / 100, "EUR", locale=i18n.babel_locale(lang))


def decimal(value: float, lang: str = "fr") -> str:
    """A number with two decimals as the reader writes it (« 9,50 », « 9.50 »)."""
    return format_decimal(value, format="0.00", locale=i18n.babel_locale(lang))


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("tierslieu", "templates"),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["long_date"] = long_date
    env.filters["clock"] = clock
    env.filters["moment"] = moment
    env.filters["time_of_day"] = time_of_day
    env.filters["money"] = money
    return env


def render(template: str, **context: object) -> str:
    return environment().get_template(template).render(**context)


def render_day_sheet(
    asset: Any,
    blocks: list[Any],
    day: dt.date,
    printed_at: dt.datetime,
    lang: str = "fr",
    back: str | None = None,
) -> str:
    """The printable A4 day sheet (API and web pages alike): who comes, per slot.

    ``back`` (web pages only): the page to return to; the sheet then also has a print
    button and a field to show another day (hidden on paper).
    """
    _ = i18n.texts(lang)
    return render(
        "bookings/day_sheet.html",
        asset=asset,
        structure=asset.structure,
        day=day,
        blocks=blocks,
        tz=asset.structure.timezone,
        printed_at=printed_at,
        lang=lang,
        back=back,
        _=_,
        ngettext=_.ngettext,
        status_label=lambda status: label(lang, "status", status),
    )
