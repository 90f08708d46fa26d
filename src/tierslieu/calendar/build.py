"""Write a FeedCalendar as RFC 5545 bytes: the same data always gives the same bytes.

icalendar does the escaping and the folding (75 octets, never inside a UTF-8
character); we pass every value it would otherwise invent (UID, DTSTAMP, PRODID)
and write the two properties it gets wrong (REFRESH-INTERVAL needs
``VALUE=DURATION``; X-PUBLISHED-TTL must read ``PT1H``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from email.utils import format_datetime
from functools import lru_cache

from icalendar import Calendar, Event, vCalAddress, vDuration, vText

from tierslieu.calendar.model import FeedCalendar, FeedEvent

# Stable: no library version, no host name (RFC 5545 §3.7.3).
PRODID = "-//tierslieu//tierslieu calendar feed//FR"
REFRESH = dt.timedelta(hours=1)
MEDIA_TYPE = "text/calendar; charset=utf-8"

# Control characters other than TAB and LF have no place in a TEXT value (RFC 5545 §3.3.11).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(value: str, *, multiline: bool = False) -> str:
    """Normalise line ends and drop control characters, so no value can inject a line.

    A multi-line value keeps its line breaks as LF (written escaped as ``\\n``);
    a one-line value (SUMMARY, LOCATION) has them turned into spaces.
    """
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = value.replace("\u2028", "\n").replace("\u2029", "\n").replace("\x85", "\n")
    value = _CONTROLS.sub("", value)
    if not multiline:
        value = " ".join(part.strip() for part in value.split("\n") if part.strip())
    return value.strip()


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(microsecond=0)


def _event(item: FeedEvent) -> Event:
    event = Event()
    event.add("UID", item.uid)
    event.add("DTSTAMP", _utc(item.last_modified))
    if isinstance(item.start, dt.datetime) and isinstance(item.end, dt.datetime):
        event.add("DTSTART", _utc(item.start))
        event.add("DTEND", _utc(item.end))
    else:
        event.add("DTSTART", item.start)
        event.add("DTEND", item.end)
    event.add("SUMMARY", vText(clean_text(item.summary)))
    description = clean_text(item.description, multiline=True)
    if description:
        event.add("DESCRIPTION", vText(description))
    location = clean_text(item.location)
    if location:
        event.add("LOCATION", vText(location))
    event.add("STATUS", item.status)
    event.add("SEQUENCE", item.sequence)
    event.add("TRANSP", "TRANSPARENT" if item.transparent else "OPAQUE")
    if item.related_to is not None:
        event.add("RELATED-TO", item.related_to)
    if item.created is not None:
        event.add("CREATED", _utc(item.created))
    event.add("LAST-MODIFIED", _utc(item.last_modified))
    return event


@lru_cache(maxsize=20_000)  # ~8 feeds of 2,500 events, under 20 MB
def _event_bytes(item: FeedEvent) -> bytes:
    """One VEVENT as icalendar writes it inside a calendar; cached, because a feed is
    rebuilt when one event changes and its thousands of other events have not."""
    return _event(item).to_ical(sorted=True)


_END = b"END:VCALENDAR\r\n"


def build_calendar(feed: FeedCalendar) -> bytes:
    """The feed as bytes: CRLF, folded, events sorted by start then UID.

    Byte for byte what icalendar writes for the whole calendar (its properties, then
    its components, then END), with each event's bytes reused from ``_event_bytes``.
    """
    cal = Calendar()
    cal.add("VERSION", "2.0")
    cal.add("PRODID", PRODID)
    cal.add("CALSCALE", "GREGORIAN")
    cal.add("METHOD", "PUBLISH")
    name = clean_text(feed.name)
    cal.add("NAME", vText(name))
    cal.add("X-WR-CALNAME", vText(name))
    description = clean_text(feed.description, multiline=True)
    if description:
        cal.add("DESCRIPTION", vText(description))
        cal.add("X-WR-CALDESC", vText(description))
    if feed.timezone:
        cal.add("X-WR-TIMEZONE", vText(clean_text(feed.timezone)))
    cal.add("REFRESH-INTERVAL", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    cal.add("X-PUBLISHED-TTL", vDuration(REFRESH))
    head = cal.to_ical(sorted=True)
    if not head.endswith(_END):  # pragma: no cover - icalendar always ends with END
        raise RuntimeError("unexpected calendar serialisation")
    events = b"".join(_event_bytes(item) for item in sorted(feed.events, key=FeedEvent.sort_key))
    return head[: -len(_END)] + events + _END


def etag_of(body: bytes) -> str:
    """A strong ETag: the quoted SHA-256 of the exact body."""
    return '"' + hashlib.sha256(body).hexdigest()[:40] + '"'


def http_date(value: dt.datetime) -> str:
    """An HTTP-date (RFC 9110) for ``Last-Modified``."""
    return format_datetime(_utc(value), usegmt=True)


# --- iTIP invitations (RFC 5546) carried by e-mail (RFC 6047) ---------------------------------

ITIP_METHODS = ("REQUEST", "CANCEL")


@dataclass(frozen=True, slots=True)
class Party:
    """An ORGANIZER or ATTENDEE: an e-mail address and a display name (CN)."""

    email: str
    name: str = ""


def _cal_address(party: Party, **parameters: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{party.email}")
    name = clean_text(party.name)
    if name:
        address.params["CN"] = vText(name)
    for key, value in parameters.items():
        address.params[key] = value
    return address


def build_invitation(
    item: FeedEvent, method: str, organizer: Party, attendee: Party | None = None
) -> bytes:
    """One event as an iTIP message: METHOD REQUEST (add or update) or CANCEL (remove).

    The VEVENT is the feed's own (same UID, SEQUENCE, times and texts, ``_event``), with
    the ORGANIZER and ATTENDEE that RFC 5546 requires; a CANCEL carries STATUS:CANCELLED.
    The attendee is not asked to answer (RSVP=FALSE): the booking is already decided.
    """
    if method not in ITIP_METHODS:
        raise ValueError(f"unsupported iTIP method {method!r}")
    event = _event(item)
    if method == "CANCEL" and item.status != "CANCELLED":
        event.pop("STATUS")
        event.add("STATUS", "CANCELLED")
    event.add("ORGANIZER", _cal_address(organizer))
    if attendee is not None and attendee.email:
        parameters = {"ROLE": "REQ-PARTICIPANT", "RSVP": "FALSE"}
        if method == "REQUEST":
            parameters["PARTSTAT"] = "ACCEPTED" if item.status == "CONFIRMED" else "TENTATIVE"
        event.add("ATTENDEE", _cal_address(attendee, **parameters))
    cal = Calendar()
    cal.add("VERSION", "2.0")
    cal.add("PRODID", PRODID)
    cal.add("CALSCALE", "GREGORIAN")
    cal.add("METHOD", method)
    cal.add_component(event)
    return cal.to_ical(sorted=True)
