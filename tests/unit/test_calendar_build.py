"""Feeds as bytes: what strict parsers and real calendar apps rely on."""

from __future__ import annotations

import datetime as dt
import random
import re
import uuid
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from hypothesis import given, settings
from hypothesis import strategies as st
from ical.calendar_stream import IcsCalendarStream

from tierslieu.calendar import (
    PRODID,
    FeedCalendar,
    FeedEvent,
    build_calendar,
    etag_of,
    http_date,
    make_uid,
)
from tierslieu.calendar.build import clean_text

PARIS = ZoneInfo("Europe/Paris")
CHANGED = dt.datetime(2026, 5, 1, 8, 30, 12, 345678, tzinfo=dt.UTC)


def slot(hour: int, day: dt.date = dt.date(2027, 6, 1), **kw: object) -> FeedEvent:
    start = dt.datetime.combine(day, dt.time(hour), PARIS)
    values: dict[str, object] = {
        "uid": make_uid("slot", f"{day:%Y%m%d}T{hour:02d}00-{uuid.UUID(int=7)}"),
        "summary": "Jardin — 3 places libres sur 8",
        "start": start,
        "end": start + dt.timedelta(hours=1),
        "last_modified": CHANGED,
        "transparent": True,
    }
    values.update(kw)
    return FeedEvent(**values)  # type: ignore[arg-type]


def sample_feed() -> FeedCalendar:
    events = (
        slot(10),
        slot(11, description="Ligne 1\nLigne 2 ; virgule, point-virgule;"),
        FeedEvent(
            uid=make_uid("booking", uuid.UUID(int=1)),
            summary="Réservation annulée : Jardin des Tilleuls",
            start=dt.datetime(2027, 6, 2, 8, tzinfo=dt.UTC),
            end=dt.datetime(2027, 6, 2, 9, tzinfo=dt.UTC),
            last_modified=CHANGED,
            created=CHANGED - dt.timedelta(days=3),
            location="12 rue des Tilleuls, 93140 Bondy",
            status="CANCELLED",
            sequence=1,
        ),
        FeedEvent(
            uid=make_uid("closure", uuid.UUID(int=2)),
            summary="Fermé : Fête nationale",
            start=dt.date(2027, 7, 14),
            end=dt.date(2027, 7, 15),
            last_modified=CHANGED,
        ),
    )
    return FeedCalendar(
        name="Jardin des Tilleuls — créneaux",
        description="Créneaux d'ouverture et fermetures",
        timezone="Europe/Paris",
        events=events,
    )


def physical_lines(body: bytes) -> list[bytes]:
    assert body.endswith(b"\r\n")
    return body[:-2].split(b"\r\n")


def unfolded(body: bytes) -> list[str]:
    return body.decode().replace("\r\n ", "").split("\r\n")[:-1]


# --- parsers accept it -----------------------------------------------------------


def test_icalendar_reads_it_back_without_errors() -> None:
    body = build_calendar(sample_feed())
    cal = icalendar.Calendar.from_ical(body)
    assert cal.errors == []
    assert all(c.errors == [] for c in cal.walk())
    assert cal.get_missing_tzids() == set()
    assert len(cal.walk("VEVENT")) == 4


def test_the_strict_ical_parser_reads_it_back() -> None:
    body = build_calendar(sample_feed())
    cal = IcsCalendarStream.calendar_from_ics(body.decode())
    assert cal.prodid == PRODID
    assert cal.events[0].summary == "Jardin — 3 places libres sur 8"
    cancelled = next(e for e in cal.events if e.uid.startswith("booking-"))
    assert cancelled.status == "CANCELLED"
    assert cancelled.sequence == 1
    closure = next(e for e in cal.events if e.uid.startswith("closure-"))
    assert closure.dtstart == dt.date(2027, 7, 14)
    assert closure.dtend == dt.date(2027, 7, 15)


# --- raw bytes ----------------------------------------------------------------------


def test_crlf_only_and_folded_at_75_octets() -> None:
    body = build_calendar(sample_feed())
    assert b"\n" not in body.replace(b"\r\n", b"")
    assert b"\r" not in body.replace(b"\r\n", b"")
    for line in physical_lines(body):
        assert len(line) <= 75
        line.decode("utf-8")  # never split inside a character


def test_calendar_properties() -> None:
    lines = unfolded(build_calendar(sample_feed()))
    assert lines[0] == "BEGIN:VCALENDAR"
    assert lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines
    assert f"PRODID:{PRODID}" in lines
    assert not re.search(r"\d+\.\d+", PRODID)  # no library version
    assert "METHOD:PUBLISH" in lines
    assert "NAME:Jardin des Tilleuls — créneaux" in lines
    assert "X-WR-CALNAME:Jardin des Tilleuls — créneaux" in lines
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in lines
    assert "X-PUBLISHED-TTL:PT1H" in lines


def test_event_properties() -> None:
    lines = unfolded(build_calendar(sample_feed()))
    stamps = [line for line in lines if line.startswith("DTSTAMP")]
    assert len(stamps) == 4
    assert all(re.fullmatch(r"DTSTAMP:\d{8}T\d{6}Z", line) for line in stamps)
    assert "DTSTAMP:20260501T083012Z" in stamps  # from the data, not the clock
    uids = [line for line in lines if line.startswith("UID:")]
    assert len(uids) == len(set(uids)) == 4
    timed = [line for line in lines if re.match(r"DT(START|END)[:;]", line)]
    for line in timed:  # no floating time: UTC or an all-day date
        assert re.fullmatch(r"DT(START|END):\d{8}T\d{6}Z", line) or re.fullmatch(
            r"DT(START|END);VALUE=DATE:\d{8}", line
        ), line
    assert "DTSTART;VALUE=DATE:20270714" in lines
    assert "DTEND;VALUE=DATE:20270715" in lines
    assert "STATUS:CANCELLED" in lines
    assert lines.count("SEQUENCE:1") == 1
    assert "LAST-MODIFIED:20260501T083012Z" in lines
    assert "CREATED:20260428T083012Z" in lines
    assert "TRANSP:TRANSPARENT" in lines


def test_same_data_same_bytes_whatever_the_order() -> None:
    feed = sample_feed()
    shuffled = list(feed.events)
    random.Random(4).shuffle(shuffled)
    other = FeedCalendar(
        name=feed.name,
        description=feed.description,
        timezone=feed.timezone,
        events=tuple(shuffled),
    )
    assert build_calendar(feed) == build_calendar(other)
    assert etag_of(build_calendar(feed)) == etag_of(build_calendar(other))


def test_events_are_sorted_by_start_then_uid() -> None:
    body = build_calendar(sample_feed())
    cal = icalendar.Calendar.from_ical(body)
    starts = [
        e.DTSTART
        if isinstance(e.DTSTART, dt.datetime)
        else dt.datetime.combine(e.DTSTART, dt.time(), dt.UTC)
        for e in cal.walk("VEVENT")
    ]
    assert starts == sorted(starts)


def test_etag_is_strong_and_follows_the_body() -> None:
    body = build_calendar(sample_feed())
    tag = etag_of(body)
    assert re.fullmatch(r'"[0-9a-f]{40}"', tag)
    assert etag_of(body + b" ") != tag


def test_last_modified_and_http_date() -> None:
    feed = sample_feed()
    assert feed.modified_at == dt.datetime(2026, 5, 1, 8, 30, 12, tzinfo=dt.UTC)
    assert http_date(feed.modified_at) == "Fri, 01 May 2026 08:30:12 GMT"
    empty = FeedCalendar(name="Vide")
    assert empty.modified_at.year == 1970
    body = build_calendar(empty)
    assert icalendar.Calendar.from_ical(body).walk("VEVENT") == []
    IcsCalendarStream.calendar_from_ics(body.decode())


# --- text ------------------------------------------------------------------------


def test_french_accents_round_trip() -> None:
    text = "Atelier cuisine — crème brûlée, œufs & gâteaux à l'ancienne « maison » ; été"
    event = slot(10, summary=text, description=text * 3, location="Salle polyvalente Ève")
    body = build_calendar(FeedCalendar(name="Équipe", events=(event,)))
    parsed = icalendar.Calendar.from_ical(body).walk("VEVENT")[0]
    assert str(parsed["SUMMARY"]) == text
    assert str(parsed["DESCRIPTION"]) == text * 3
    assert str(parsed["LOCATION"]) == "Salle polyvalente Ève"
    strict = IcsCalendarStream.calendar_from_ics(body.decode()).events[0]
    assert strict.summary == text
    assert strict.description == text * 3


def test_cr_lf_cannot_inject_a_property() -> None:
    evil = "Jardin\r\nATTENDEE:mailto:evil@example.test\rX-INJECT:1\nEND:VEVENT"
    event = slot(10, summary=evil, description=evil, location=evil)
    body = build_calendar(FeedCalendar(name="Jardin\r\nX-EVIL:1", events=(event,)))
    lines = unfolded(body)
    assert not any(line.startswith(("ATTENDEE", "X-INJECT", "X-EVIL")) for line in lines)
    assert lines.count("END:VEVENT") == 1
    parsed = icalendar.Calendar.from_ical(body).walk("VEVENT")[0]
    assert "ATTENDEE" not in parsed
    assert (
        str(parsed["SUMMARY"]) == "Jardin ATTENDEE:mailto:evil@example.test X-INJECT:1 END:VEVENT"
    )
    assert str(parsed["DESCRIPTION"]).split("\n")[1] == "ATTENDEE:mailto:evil@example.test"


@settings(max_examples=150, deadline=None)
@given(
    summary=st.text(min_size=0, max_size=300),
    description=st.text(min_size=0, max_size=600),
)
def test_any_text_folds_cleanly_and_round_trips(summary: str, description: str) -> None:
    event = slot(10, summary=summary, description=description)
    body = build_calendar(FeedCalendar(name="Jardin", events=(event,)))
    for line in physical_lines(body):
        assert len(line) <= 75
        line.decode("utf-8")
    assert b"\n" not in body.replace(b"\r\n", b"")
    parsed = icalendar.Calendar.from_ical(body)
    assert parsed.errors == []
    vevent = parsed.walk("VEVENT")[0]
    assert vevent.errors == []
    assert str(vevent.get("SUMMARY", "")) == clean_text(summary)
    assert str(vevent.get("DESCRIPTION", "")) == clean_text(description, multiline=True)


# --- time -------------------------------------------------------------------------


def test_fall_back_day_keeps_its_local_time() -> None:
    """31 Oct 2027, Europe/Paris goes back from 03:00 to 02:00: 10:00 stays 10:00."""
    day = dt.date(2027, 10, 31)
    events = (slot(10, day=day), slot(1, day=day), slot(10, day=dt.date(2027, 10, 30)))
    body = build_calendar(FeedCalendar(name="Jardin", timezone="Europe/Paris", events=events))
    lines = unfolded(body)
    assert "DTSTART:20271031T090000Z" in lines  # CET, UTC+1 after the change
    assert "DTSTART:20271030T080000Z" in lines  # CEST, UTC+2 the day before
    # recurring-ical-events honours X-WR-TIMEZONE and gives local times back.
    cal = icalendar.Calendar.from_ical(body)
    local = sorted(
        e.DTSTART for e in recurring_ical_events.of(cal).between(day, day + dt.timedelta(days=1))
    )
    assert [(t.hour, t.utcoffset()) for t in local] == [
        (1, dt.timedelta(hours=2)),
        (10, dt.timedelta(hours=1)),
    ]
    # The strict parser agrees once converted to the structure's zone.
    strict = IcsCalendarStream.calendar_from_ics(body.decode())
    hours = sorted(e.dtstart.astimezone(PARIS).strftime("%d %H:%M") for e in strict.events)
    assert hours == ["30 10:00", "31 01:00", "31 10:00"]


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        FeedEvent(
            uid="x@tierslieu",
            summary="x",
            start=dt.datetime(2027, 1, 1, 10),
            end=dt.datetime(2027, 1, 1, 11),
            last_modified=CHANGED,
        )


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (dt.date(2027, 1, 2), dt.date(2027, 1, 2)),
        (dt.date(2027, 1, 2), dt.datetime(2027, 1, 3, tzinfo=dt.UTC)),
        (dt.datetime(2027, 1, 2, 10, tzinfo=dt.UTC), dt.datetime(2027, 1, 2, 9, tzinfo=dt.UTC)),
    ],
)
def test_incoherent_intervals_are_refused(start: object, end: object) -> None:
    with pytest.raises(ValueError):
        FeedEvent(uid="x@tierslieu", summary="x", start=start, end=end, last_modified=CHANGED)  # type: ignore[arg-type]


@pytest.mark.parametrize("uid", ["", "has space@tierslieu", "a\r\nb", "jeanne@exemple.test\n"])
def test_bad_uids_are_refused(uid: str) -> None:
    with pytest.raises(ValueError):
        slot(10, uid=uid)


def test_duplicate_uids_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        FeedCalendar(name="x", events=(slot(10), slot(10)))
