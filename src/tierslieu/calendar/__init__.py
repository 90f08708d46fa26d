"""iCalendar feeds out, closures in. Pure: no database, no web framework code here.

- ``model``: frozen dataclasses describing a feed (FeedCalendar, FeedEvent).
- ``build``: deterministic RFC 5545 bytes, ETag and HTTP dates.
- ``parse``: an uploaded ``.ics`` read, checked and expanded into closure intervals.
"""

from tierslieu.calendar.build import MEDIA_TYPE, PRODID, build_calendar, etag_of, http_date
from tierslieu.calendar.model import FeedCalendar, FeedEvent, make_uid
from tierslieu.calendar.parse import ImportedClosure, import_window, parse_closures

__all__ = [
    "MEDIA_TYPE",
    "PRODID",
    "FeedCalendar",
    "FeedEvent",
    "ImportedClosure",
    "build_calendar",
    "etag_of",
    "http_date",
    "import_window",
    "make_uid",
    "parse_closures",
]
