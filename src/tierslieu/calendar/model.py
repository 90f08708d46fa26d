"""Plain, frozen descriptions of what a feed publishes. No database, no web framework."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Literal

EventStatus = Literal["CONFIRMED", "TENTATIVE", "CANCELLED"]

# A UID is ours (``booking-<uuid>@tierslieu``): ASCII, no spaces, no personal data.
_UID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,254}")
UID_DOMAIN = "tierslieu"


def make_uid(kind: str, key: object) -> str:
    """The stable UID of one published object, e.g. ``booking-<uuid>@tierslieu``."""
    return f"{kind}-{key}@{UID_DOMAIN}"


def _is_aware(value: dt.datetime) -> bool:
    return value.tzinfo is not None and value.tzinfo.utcoffset(value) is not None


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One VEVENT.

    ``start``/``end`` are both aware datetimes (a timed event, written in UTC) or
    both dates (an all-day event; ``end`` is exclusive, as in RFC 5545).
    ``last_modified`` is the instant of the object's last change: it becomes both
    LAST-MODIFIED and DTSTAMP, so the same data always gives the same bytes.
    """

    uid: str
    summary: str
    start: dt.datetime | dt.date
    end: dt.datetime | dt.date
    last_modified: dt.datetime
    created: dt.datetime | None = None
    description: str = ""
    location: str = ""
    status: EventStatus = "CONFIRMED"
    sequence: int = 0
    # Opening slots are "free" time for the subscriber; bookings and closures are busy.
    transparent: bool = False
    # RELATED-TO: the UID of what the event belongs to (an occurrence's booking series).
    related_to: str | None = None

    def __post_init__(self) -> None:
        if not _UID.fullmatch(self.uid):
            raise ValueError(f"invalid UID {self.uid!r}")
        if self.related_to is not None and not _UID.fullmatch(self.related_to):
            raise ValueError(f"invalid RELATED-TO {self.related_to!r}")
        start_is_dt = isinstance(self.start, dt.datetime)
        end_is_dt = isinstance(self.end, dt.datetime)
        if start_is_dt != end_is_dt:
            raise ValueError("start and end must both be datetimes or both be dates")
        if start_is_dt:
            assert isinstance(self.start, dt.datetime) and isinstance(self.end, dt.datetime)
            if not (_is_aware(self.start) and _is_aware(self.end)):
                raise ValueError("naive datetimes would be floating times: give aware ones")
        if not self.end > self.start:  # type: ignore[operator]
            raise ValueError("end must be after start")
        for name in ("last_modified", "created"):
            value = getattr(self, name)
            if value is not None and not _is_aware(value):
                raise ValueError(f"{name} must be an aware datetime")
        if self.sequence < 0:
            raise ValueError("sequence must be >= 0")
        if self.status not in ("CONFIRMED", "TENTATIVE", "CANCELLED"):
            raise ValueError(f"invalid status {self.status!r}")

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, dt.datetime)

    def sort_key(self) -> tuple[dt.datetime, str]:
        """Events are written in start order (UTC instant; all-day at 00:00 UTC), then UID."""
        start = self.start
        if isinstance(start, dt.datetime):
            return (start.astimezone(dt.UTC), self.uid)
        return (dt.datetime.combine(start, dt.time(), dt.UTC), self.uid)


@dataclass(frozen=True, slots=True)
class FeedCalendar:
    """One published calendar.

    ``timezone`` (IANA name) is only a display hint (``X-WR-TIMEZONE``): timed
    events are always written in UTC, which no client can misread.
    ``last_modified`` is used when there is no event (an empty feed still needs a date).
    """

    name: str
    events: tuple[FeedEvent, ...] = field(default_factory=tuple)
    description: str = ""
    timezone: str | None = None
    last_modified: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.last_modified is not None and not _is_aware(self.last_modified):
            raise ValueError("last_modified must be an aware datetime")
        uids = [event.uid for event in self.events]
        if len(uids) != len(set(uids)):
            raise ValueError("duplicate UID in one calendar")

    @property
    def modified_at(self) -> dt.datetime:
        """The latest change in this calendar (for ``Last-Modified``), in UTC, whole seconds."""
        candidates = [event.last_modified for event in self.events]
        if self.last_modified is not None:
            candidates.append(self.last_modified)
        if not candidates:
            return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        return max(c.astimezone(dt.UTC) for c in candidates).replace(microsecond=0)
