"""Closures read from an uploaded .ics: expanded, stable, or refused whole."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest

from tierslieu.calendar import import_window, parse_closures
from tierslieu.calendar.errors import (
    CalendarTooLarge,
    MalformedCalendar,
    RecurrenceTooCostly,
    TooManyComponents,
    TooManyOccurrences,
    UnknownTimezone,
)
from tierslieu.calendar.parse import MAX_BYTES, read_calendar

PARIS = ZoneInfo("Europe/Paris")
NOW = dt.datetime(2026, 11, 15, 9, 0, tzinfo=dt.UTC)
START, END = import_window(NOW)


def ics(*events: str, extra: str = "") -> bytes:
    body = "".join(
        f"BEGIN:VEVENT\r\nDTSTAMP:20260101T000000Z\r\n{e.strip()}\r\nEND:VEVENT\r\n" for e in events
    )
    text = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Test//FR\r\n{extra}{body}END:VCALENDAR\r\n"
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def parse(data: bytes) -> list:
    return parse_closures(data, timezone="Europe/Paris", window_start=START, window_end=END)


HOLIDAY = """UID:noel-2026@mairie.example
SUMMARY:Noël
DTSTART;VALUE=DATE:20261225
DTEND;VALUE=DATE:20261226"""

WORKS = """UID:travaux@jeanne.martin@exemple.test
SUMMARY:Travaux — réfection des bacs
DTSTART;TZID=Europe/Paris:20270310T140000
DTEND;TZID=Europe/Paris:20270310T170000"""

WEEKLY = """UID:reunion-equipe
SUMMARY:Réunion d'équipe
DTSTART;TZID=Europe/Paris:20261202T090000
DTEND;TZID=Europe/Paris:20261202T100000
RRULE:FREQ=WEEKLY;BYDAY=WE
EXDATE;TZID=Europe/Paris:20261230T090000"""


def test_window_is_eighteen_months() -> None:
    assert START == NOW
    assert dt.datetime(2028, 5, 15, 9, 0, tzinfo=dt.UTC) == END
    assert import_window(dt.datetime(2026, 8, 31, tzinfo=dt.UTC))[1].date() == dt.date(2028, 2, 28)


def test_all_day_and_timed_events() -> None:
    holiday, works = parse(ics(HOLIDAY, WORKS))
    assert holiday.all_day
    assert (holiday.starts_on, holiday.ends_on) == (dt.date(2026, 12, 25), dt.date(2026, 12, 26))
    assert holiday.starts_at == dt.datetime(2026, 12, 24, 23, tzinfo=dt.UTC)
    assert holiday.ends_at == dt.datetime(2026, 12, 25, 23, tzinfo=dt.UTC)
    assert holiday.reason == "Noël"
    assert not works.all_day
    assert works.starts_at == dt.datetime(2027, 3, 10, 13, tzinfo=dt.UTC)
    assert works.ends_at == dt.datetime(2027, 3, 10, 16, tzinfo=dt.UTC)
    assert works.starts_on is None
    assert works.reason == "Travaux — réfection des bacs"


def test_the_closure_uid_is_stable_and_carries_no_source_uid() -> None:
    first = parse(ics(HOLIDAY, WORKS, WEEKLY))
    again = parse(ics(WEEKLY, WORKS, HOLIDAY))
    assert [c.external_uid for c in first] == [c.external_uid for c in again]
    assert len({c.external_uid for c in first}) == len(first)
    for closure in first:
        assert closure.external_uid.startswith("ics-")
        assert "jeanne" not in closure.external_uid
        assert len(closure.external_uid) <= 64


def test_moving_a_single_event_keeps_its_uid() -> None:
    moved = WORKS.replace("20270310T14", "20270311T14").replace("20270310T17", "20270311T17")
    (before,) = parse(ics(WORKS))
    (after,) = parse(ics(moved))
    assert before.external_uid == after.external_uid
    assert after.starts_at.day == 11


def test_weekly_rule_is_expanded_over_the_window_only() -> None:
    closures = parse(ics(WEEKLY))
    assert closures[0].starts_at == dt.datetime(2026, 12, 2, 8, tzinfo=dt.UTC)
    assert all(c.starts_at < END for c in closures)
    # 76 Wednesdays from 2 Dec 2026 to 10 May 2028, less the excluded 30 Dec.
    assert len(closures) == 75
    assert dt.datetime(2026, 12, 30, 8, tzinfo=dt.UTC) not in {c.starts_at for c in closures}
    # 9:00 local on both sides of a DST change.
    assert {c.starts_at.astimezone(PARIS).hour for c in closures} == {9}


def test_a_moved_occurrence_keeps_the_uid_of_the_one_it_replaces() -> None:
    override = """UID:reunion-equipe
RECURRENCE-ID;TZID=Europe/Paris:20261209T090000
SUMMARY:Réunion déplacée
DTSTART;TZID=Europe/Paris:20261210T150000
DTEND;TZID=Europe/Paris:20261210T160000"""
    plain = {c.starts_at: c.external_uid for c in parse(ics(WEEKLY))}
    with_override = parse(ics(WEEKLY, override))
    moved = next(c for c in with_override if c.reason == "Réunion déplacée")
    assert moved.starts_at == dt.datetime(2026, 12, 10, 14, tzinfo=dt.UTC)
    assert moved.external_uid == plain[dt.datetime(2026, 12, 9, 8, tzinfo=dt.UTC)]
    assert len(with_override) == len(plain)


def test_past_and_cancelled_events_close_nothing() -> None:
    past = HOLIDAY.replace("2026122", "2025122").replace("noel-2026", "noel-2025")
    cancelled = WORKS + "\nSTATUS:CANCELLED"
    zero = "UID:rappel\nSUMMARY:Rappel\nDTSTART:20270101T100000Z\nDTEND:20270101T100000Z"
    assert parse(ics(past, cancelled, zero)) == []


def test_floating_times_are_read_in_the_structure_zone() -> None:
    floating = "UID:f1\nSUMMARY:Flottant\nDTSTART:20270701T100000\nDTEND:20270701T120000"
    (closure,) = parse(ics(floating))
    assert closure.starts_at == dt.datetime(2027, 7, 1, 8, tzinfo=dt.UTC)


def test_all_day_without_end_lasts_one_day_and_multi_day_keeps_its_end() -> None:
    one = "UID:d1\nSUMMARY:Jour\nDTSTART;VALUE=DATE:20270501"
    three = "UID:d3\nSUMMARY:Pont\nDTSTART;VALUE=DATE:20270513\nDTEND;VALUE=DATE:20270516"
    first, second = parse(ics(one, three))
    assert (first.starts_on, first.ends_on) == (dt.date(2027, 5, 1), dt.date(2027, 5, 2))
    assert (second.starts_on, second.ends_on) == (dt.date(2027, 5, 13), dt.date(2027, 5, 16))


def test_known_zones_without_vtimezone_and_described_zones_are_accepted() -> None:
    windows = WORKS.replace("Europe/Paris", "Romance Standard Time").replace("travaux", "w")
    custom_tz = """BEGIN:VTIMEZONE\r
TZID:Maison\r
BEGIN:STANDARD\r
DTSTART:19700101T000000\r
TZOFFSETFROM:+0100\r
TZOFFSETTO:+0100\r
END:STANDARD\r
END:VTIMEZONE\r
"""
    custom = WORKS.replace("Europe/Paris", "Maison").replace("travaux", "c")
    closures = parse(ics(windows, custom, extra=custom_tz))
    assert len(closures) == 2
    assert all(c.starts_at.hour == 13 for c in closures)


def test_unknown_timezone_is_refused() -> None:
    with pytest.raises(UnknownTimezone) as info:
        parse(ics(WORKS.replace("Europe/Paris", "Mars/Olympus_Mons")))
    assert info.value.status == 422
    assert "Mars/Olympus_Mons" in info.value.params["tzids"]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello world",
        b"\xff\xfe\x00B\x00E",
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:x\r\n",
        ics("UID:x\nSUMMARY:Sans début"),
        ics("UID:x\nSUMMARY:Date cassée\nDTSTART:2027garbage"),
        ics("UID:x\nDTSTART:20270101T100000Z\nDTEND:20270101T110000Z\nRRULE:FREQ=SOMETIMES"),
        b"BEGIN:VEVENT\r\nUID:x\r\nDTSTART:20270101T100000Z\r\nEND:VEVENT\r\n",
    ],
    ids=[
        "empty",
        "text",
        "utf16",
        "truncated",
        "no-dtstart",
        "bad-date",
        "bad-rrule",
        "no-vcalendar",
    ],
)
def test_malformed_files_are_refused(data: bytes) -> None:
    with pytest.raises(MalformedCalendar) as info:
        parse(data)
    assert info.value.status == 422


def test_files_over_one_megabyte_are_refused() -> None:
    big = ics(HOLIDAY, extra="X-PAD:" + "a" * MAX_BYTES + "\r\n")
    with pytest.raises(CalendarTooLarge) as info:
        read_calendar(big)
    assert info.value.status == 413


def test_a_rule_that_explodes_is_refused() -> None:
    minutely = "UID:m\nSUMMARY:Boucle\nDTSTART:20270101T100000Z\nDTEND:20270101T100100Z\nRRULE:FREQ=MINUTELY"
    with pytest.raises(RecurrenceTooCostly):  # refused before expanding anything
        parse(ics(minutely))
    hourly = (
        "UID:h\nSUMMARY:Boucle\nDTSTART:20270101T100000Z\nDTEND:20270101T100100Z\n"
        "RRULE:FREQ=HOURLY;UNTIL=20270401T000000Z"
    )
    with pytest.raises(TooManyOccurrences):  # cheap enough to expand, too many closures
        parse(ics(hourly))


def test_an_empty_calendar_gives_nothing() -> None:
    assert parse(ics()) == []


# --- D2 (security review 2026-11): an expansion's cost is refused before it runs --------------


def _secondly(start: dt.datetime) -> bytes:
    """The review's 198-byte file: one event, RRULE:FREQ=SECONDLY, no end."""
    stamp = start.strftime("%Y%m%dT%H%M00Z")  # DTEND one second later, always
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:r@x\r\n"
        f"DTSTAMP:20260101T000000Z\r\nDTSTART:{stamp}\r\nDTEND:{stamp[:-3]}01Z\r\n"
        "RRULE:FREQ=SECONDLY\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


@pytest.mark.parametrize(
    "dtstart",
    [
        dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=20),
        dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
    ],
    ids=["20-days-ago", "1970"],
)
def test_a_secondly_rule_with_a_past_start_is_refused_at_once(dtstart: dt.datetime) -> None:
    data = _secondly(dtstart)
    assert len(data) == 198
    now = dt.datetime.now(dt.UTC)
    start, end = import_window(now)
    began = time.perf_counter()
    with pytest.raises(RecurrenceTooCostly):
        parse_closures(data, timezone="Europe/Paris", window_start=start, window_end=end)
    assert time.perf_counter() - began < 0.2


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=MINUTELY;UNTIL=20991231T000000Z",
        "FREQ=SECONDLY;COUNT=1000000",
        "FREQ=HOURLY;BYMONTH=2;COUNT=3",  # a day filter on a sub-daily rule
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",  # never occurs: would walk up to year 9999
        "FREQ=DAILY;BYSETPOS=2",
    ],
)
def test_costly_or_endless_rules_are_refused_before_expanding(rule: str) -> None:
    event = f"UID:x\nSUMMARY:x\nDTSTART:20261201T100000Z\nDTEND:20261201T110000Z\nRRULE:{rule}"
    began = time.perf_counter()
    with pytest.raises(RecurrenceTooCostly):
        parse(ics(event))
    assert time.perf_counter() - began < 0.2


def test_ordinary_long_running_rules_still_import() -> None:
    """A weekly opening since 1970 or a yearly holiday since 1900 costs little: accepted."""
    weekly = "UID:w\nSUMMARY:Réunion\nDTSTART:19700106T090000Z\nDTEND:19700106T100000Z\nRRULE:FREQ=WEEKLY;BYDAY=TU,SA"
    yearly = "UID:y\nSUMMARY:Jour de l'an\nDTSTART;VALUE=DATE:19000101\nDTEND;VALUE=DATE:19000102\nRRULE:FREQ=YEARLY"
    counted = "UID:c\nSUMMARY:x\nDTSTART:20270101T100000Z\nDTEND:20270101T100001Z\nRRULE:FREQ=SECONDLY;COUNT=5"
    closures = parse(ics(weekly, yearly, counted))
    assert len([c for c in closures if c.reason == "Réunion"]) > 100
    assert any(c.reason == "Jour de l'an" for c in closures)
    assert len([c for c in closures if c.reason == "x"]) == 5


def test_too_many_components_are_refused_before_parsing() -> None:
    events = [
        f"UID:e{i}\nDTSTART;VALUE=DATE:20270101\nDTEND;VALUE=DATE:20270102" for i in range(5001)
    ]
    with pytest.raises(TooManyComponents):
        parse(ics(*events))
