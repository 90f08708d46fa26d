"""Read an uploaded ``.ics`` into closure intervals, or refuse it whole.

Checks, in order: size (1 MB), encoding and syntax, parse errors recorded by
icalendar on any component, TZIDs neither described by a VTIMEZONE nor known
(IANA or Windows names), then expands recurrences (``recurring-ical-events``)
over the import window. Nothing here touches a database: the caller applies
the result in one transaction, so a refused file changes nothing.

Cost is bounded before any work: the file size, the number of components, and an
estimate of how many instances each RRULE makes the expansion generate (from its
DTSTART, not from the window: ``recurring-ical-events`` and ``dateutil`` walk every
instance in between). A file over a limit is refused whole, in milliseconds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import recurring_ical_events
from icalendar import Calendar, Component
from icalendar.timezone import tzp

from tierslieu.calendar.build import clean_text
from tierslieu.calendar.errors import (
    CalendarTooLarge,
    MalformedCalendar,
    RecurrenceTooCostly,
    TooManyComponents,
    TooManyOccurrences,
    UnknownTimezone,
)

MAX_BYTES = 1_048_576
MAX_OCCURRENCES = 2_000
MAX_COMPONENTS = 5_000
# Instances the expansion may walk through, summed over the file's RRULEs (≈ 15 µs each).
MAX_EXPANSION = 50_000
IMPORT_MONTHS = 18
REASON_MAX = 200
DEFAULT_REASON = "Fermeture importée"


@dataclass(frozen=True, slots=True)
class ImportedClosure:
    """One closure interval read from a calendar.

    ``external_uid`` is stable for one occurrence of one source event (a hash:
    it carries none of the source UID, which may hold an e-mail address), so
    importing the same file again finds the same closures. All-day closures
    give ``starts_on``/``ends_on`` (``ends_on`` exclusive) and the matching
    local midnights as ``starts_at``/``ends_at`` (UTC).
    """

    external_uid: str
    reason: str
    all_day: bool
    starts_at: dt.datetime
    ends_at: dt.datetime
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None


def import_window(now: dt.datetime, months: int = IMPORT_MONTHS) -> tuple[dt.datetime, dt.datetime]:
    """From ``now`` to the same instant ``months`` later (day clamped to 28 if needed)."""
    month_index = now.month - 1 + months
    year, month = now.year + month_index // 12, month_index % 12 + 1
    return now, now.replace(year=year, month=month, day=min(now.day, 28))


def read_calendar(data: bytes) -> Calendar:
    """Parse and check ``data``; raises CalendarTooLarge, MalformedCalendar, UnknownTimezone."""
    if len(data) > MAX_BYTES:
        raise CalendarTooLarge({"limit_kb": MAX_BYTES // 1024})
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MalformedCalendar({"reason": "not-utf8"}) from None
    if "BEGIN:VCALENDAR" not in text[:4096].upper():
        raise MalformedCalendar({"reason": "no-vcalendar"})
    if text.upper().count("BEGIN:") > MAX_COMPONENTS:
        raise TooManyComponents({"limit": MAX_COMPONENTS})
    try:
        calendar = Calendar.from_ical(text)
    except Exception as exc:  # icalendar raises ValueError and a few others on bad input
        raise MalformedCalendar({"reason": _short(str(exc))}) from None
    if not isinstance(calendar, Calendar) or calendar.name != "VCALENDAR":
        raise MalformedCalendar({"reason": "vcalendar-expected"})
    for component in calendar.walk():
        if component.errors:
            prop, message = component.errors[0]
            raise MalformedCalendar({"reason": _short(f"{component.name} {prop}: {message}")})
    for event in calendar.walk("VEVENT"):
        if "DTSTART" not in event:
            raise MalformedCalendar({"reason": "vevent-without-dtstart"})
    unknown = sorted(t for t in calendar.get_missing_tzids() if tzp.timezone(t) is None)
    if unknown:
        raise UnknownTimezone({"tzids": _short(", ".join(unknown))})
    return calendar


def parse_closures(
    data: bytes,
    *,
    timezone: str,
    window_start: dt.datetime,
    window_end: dt.datetime,
    max_occurrences: int = MAX_OCCURRENCES,
) -> list[ImportedClosure]:
    """Closures for every event occurrence overlapping [window_start, window_end).

    Floating times (no TZID) are read in ``timezone`` (the structure's zone).
    Cancelled events and zero-length timed events close nothing and are skipped.
    """
    calendar = read_calendar(data)
    check_expansion_cost(calendar, window_end)
    zone = ZoneInfo(timezone)
    series = {
        str(event.get("UID", ""))
        for event in calendar.walk("VEVENT")
        if any(key in event for key in ("RRULE", "RDATE", "RECURRENCE-ID"))
    }
    closures: dict[str, ImportedClosure] = {}
    seen = 0
    try:
        occurrences = recurring_ical_events.of(calendar, keep_recurrence_attributes=True)
        for occurrence in occurrences.between(window_start, window_end):
            seen += 1
            if seen > max_occurrences * 5 or len(closures) > max_occurrences:
                raise TooManyOccurrences({"limit": max_occurrences})
            closure = _closure(occurrence, zone, series)
            if closure is None:
                continue
            if closure.starts_at >= window_end:
                break
            if closure.ends_at <= window_start:
                continue
            closures.setdefault(closure.external_uid, closure)
    except (TooManyOccurrences, MalformedCalendar):
        raise
    except Exception as exc:  # bad RRULE and the like surface only while expanding
        raise MalformedCalendar({"reason": _short(str(exc))}) from None
    if len(closures) > max_occurrences:
        raise TooManyOccurrences({"limit": max_occurrences})
    return sorted(closures.values(), key=lambda c: (c.starts_at, c.external_uid))


# --- what an expansion would cost, estimated before running it -----------------------------

_FREQ_SECONDS = {
    "SECONDLY": 1,
    "MINUTELY": 60,
    "HOURLY": 3_600,
    "DAILY": 86_400,
    "WEEKLY": 7 * 86_400,
    "MONTHLY": 31 * 86_400,
    "YEARLY": 366 * 86_400,
}
_SUB_DAILY = frozenset({"SECONDLY", "MINUTELY", "HOURLY"})
_DAY_PARTS = ("BYMONTH", "BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY", "BYSETPOS")
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def check_expansion_cost(calendar: Calendar, window_end: dt.datetime) -> None:
    """Refuse (RecurrenceTooCostly) a calendar whose RRULEs would walk through more than
    MAX_EXPANSION instances between their DTSTART and the end of the window."""
    end = _naive_utc(window_end)
    total = 0
    for event in calendar.walk("VEVENT"):
        rules = event.get("RRULE")
        if rules is None:
            continue
        try:
            start = _naive_utc(event["DTSTART"].dt)
        except Exception:  # a broken DTSTART: the file is refused, not expanded
            raise MalformedCalendar({"reason": "dtstart-unreadable"}) from None
        for rule in rules if isinstance(rules, list) else [rules]:
            try:
                total += _instances(rule, start, end)
            except (TypeError, ValueError, OverflowError):  # odd values: do not expand
                total += MAX_EXPANSION + 1
            if total > MAX_EXPANSION:
                raise RecurrenceTooCostly({"limit": MAX_EXPANSION})


def _instances(rule: Any, start: dt.datetime, window_end: dt.datetime) -> int:
    """An upper bound of the instances ``dateutil`` generates for ``rule`` up to the window end.

    Over the limit (returned as MAX_EXPANSION + 1) too: rules finer than a day with a day
    filter, BYSETPOS on a daily or finer rule, and a BYMONTH/BYMONTHDAY pair that never
    occurs — they may walk instance after instance up to the year 9999 and find nothing.
    """
    refused = MAX_EXPANSION + 1
    try:
        freq = str(rule["FREQ"][0]).upper()
        interval = max(1, int(rule.get("INTERVAL", [1])[0]))
        parts = {name: list(rule.get(name, [])) for name in (*_DAY_PARTS, "BYHOUR", "BYMINUTE")}
        parts["BYSECOND"] = list(rule.get("BYSECOND", []))
    except (KeyError, IndexError, TypeError, ValueError):
        return refused  # the expansion would reject it anyway; do not try
    if freq not in _FREQ_SECONDS:
        return refused
    if freq in _SUB_DAILY and any(parts[p] for p in _DAY_PARTS):
        return refused
    if parts["BYSETPOS"] and freq in (*_SUB_DAILY, "DAILY"):
        return refused
    if parts["BYMONTH"] and parts["BYMONTHDAY"] and not _some_month_day(parts):
        return refused
    end = window_end
    if "UNTIL" in rule:
        try:
            end = min(end, _naive_utc(rule["UNTIL"][0]))
        except (TypeError, ValueError, OverflowError):
            return refused
    periods = max(0, int((end - start).total_seconds() // (_FREQ_SECONDS[freq] * interval))) + 1
    per_period = _per_period(freq, parts)
    estimate = periods * per_period
    if "COUNT" in rule and not any(parts.values()):
        try:
            estimate = min(estimate, max(0, int(rule["COUNT"][0])))
        except (TypeError, ValueError):
            return refused
    return estimate


def _per_period(freq: str, parts: dict[str, list[Any]]) -> int:
    """Candidate instances in one period of ``freq`` (an upper bound)."""
    day_filtered = any(parts[p] for p in ("BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY"))
    if freq == "YEARLY":
        months = len(parts["BYMONTH"]) or 12
        days = months * 31 if day_filtered else (len(parts["BYMONTH"]) or 1)
    elif freq == "MONTHLY":
        days = 31 if day_filtered else 1
    elif freq == "WEEKLY":
        days = len(parts["BYDAY"]) or 1
    else:
        days = 1
    times = 1
    if freq not in ("HOURLY", "MINUTELY", "SECONDLY"):
        times *= len(parts["BYHOUR"]) or 1
    if freq not in ("MINUTELY", "SECONDLY"):
        times *= len(parts["BYMINUTE"]) or 1
    if freq != "SECONDLY":
        times *= len(parts["BYSECOND"]) or 1
    return days * times


def _some_month_day(parts: dict[str, list[Any]]) -> bool:
    for month in parts["BYMONTH"]:
        for day in parts["BYMONTHDAY"]:
            month_i, day_i = int(month), int(day)
            if 1 <= month_i <= 12 and 1 <= abs(day_i) <= _DAYS_IN_MONTH[month_i - 1]:
                return True
    return False


def _naive_utc(value: dt.date | dt.datetime) -> dt.datetime:
    """A comparable naive instant: UTC for aware values, as written for floating ones."""
    if not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
    if value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _closure(event: Component, zone: ZoneInfo, series: set[str]) -> ImportedClosure | None:
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        return None
    start = event["DTSTART"].dt
    end = event["DTEND"].dt if "DTEND" in event else None
    uid = str(event.get("UID", ""))
    all_day = not isinstance(start, dt.datetime)
    if all_day:
        if isinstance(end, dt.datetime):
            end = end.date()
        if end is None or end <= start:
            end = start + dt.timedelta(days=1)
        starts_at = dt.datetime.combine(start, dt.time(), zone).astimezone(dt.UTC)
        ends_at = dt.datetime.combine(end, dt.time(), zone).astimezone(dt.UTC)
    else:
        if not isinstance(end, dt.datetime):
            return None
        starts_at, ends_at = _aware(start, zone), _aware(end, zone)
        if ends_at <= starts_at:
            return None
    if not uid:
        uid = "no-uid|" + event["DTSTART"].to_ical().decode() + "|" + str(event.get("SUMMARY", ""))
    key = uid
    if uid in series:
        recurrence = event.get("RECURRENCE-ID")
        original = recurrence.dt if recurrence is not None else start
        key = f"{uid}|{_instant_key(original, zone)}"
    reason = clean_text(str(event.get("SUMMARY", "")))[:REASON_MAX] or DEFAULT_REASON
    return ImportedClosure(
        external_uid="ics-" + hashlib.sha256(key.encode()).hexdigest()[:40],
        reason=reason,
        all_day=all_day,
        starts_at=starts_at,
        ends_at=ends_at,
        starts_on=start if all_day else None,
        ends_on=end if all_day else None,
    )


def _aware(value: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(dt.UTC)


def _instant_key(value: dt.date | dt.datetime, zone: ZoneInfo) -> str:
    if isinstance(value, dt.datetime):
        return _aware(value, zone).strftime("%Y%m%dT%H%M%SZ")
    return value.strftime("%Y%m%d")


def _short(text: str, limit: int = 160) -> str:
    text = clean_text(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
