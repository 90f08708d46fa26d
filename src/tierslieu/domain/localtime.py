"""Local wall-clock times and UTC instants: one rule, used by every module.

Instants are stored and compared in UTC; a person types (and reads) wall-clock times
in the structure's IANA zone. The daylight-saving changes make two cases:

- **Spring-forward gap** (e.g. 02:30 on the last Sunday of March in Europe/Paris does
  not exist): a naive wall time in the gap is *refused*. ``wall_to_utc`` and
  ``to_utc`` raise ``NonexistentLocalTime``; the services turn it into a 422
  ``validation-error`` on the field (``nonexistent-local-time``). A slot whose start
  falls in the gap is not offered. Only a *boundary* computed from the rules (a slot's
  or an opening's end, a local midnight) uses ``boundary_to_utc``, which moves it
  forward by the gap's length (02:30 → 03:30).
- **Autumn fold** (02:30 happens twice): the *first* occurrence (``fold=0``, the
  summer offset), everywhere.

An aware datetime (with an offset) is an instant already: it is only converted.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from tierslieu.errors import InvalidInput

Zone = ZoneInfo | str


class NonexistentLocalTime(ValueError):
    """A wall-clock time skipped by the spring-forward change in the zone."""


def zone(tz: Zone) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def exists(moment: dt.datetime, tz: Zone) -> bool:
    """False for a naive wall time inside the spring-forward gap of ``tz``."""
    z = zone(tz)
    local = moment.replace(tzinfo=z, fold=0)
    return local.astimezone(dt.UTC).astimezone(z).replace(tzinfo=None) == moment.replace(
        tzinfo=None
    )


def steady_offset(day: dt.date, tz: Zone) -> dt.timedelta | None:
    """The zone's UTC offset all through the local ``day``, or None on a day the offset
    changes (a DST change, a zone's redefinition). On a steady day every wall time exists
    and is ``wall - offset`` in UTC: what ``to_utc`` gives, for a fraction of its cost."""
    z = zone(tz)
    start = dt.datetime.combine(day, dt.time(), tzinfo=z).utcoffset()
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=z).utcoffset()
    return start if start == end else None


def wall_to_utc(day: dt.date, time: dt.time, tz: Zone) -> dt.datetime:
    """The UTC instant of a local wall-clock time; the first one in the autumn fold.

    Raises NonexistentLocalTime for a time in the spring-forward gap.
    """
    return to_utc(dt.datetime.combine(day, time.replace(tzinfo=None)), tz)


def to_utc(value: dt.datetime, tz: Zone) -> dt.datetime:
    """An aware instant as UTC; a naive one is a wall-clock time in ``tz`` (see wall_to_utc)."""
    if value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    if not exists(value, tz):
        raise NonexistentLocalTime(value.isoformat())
    return value.replace(tzinfo=zone(tz), fold=0).astimezone(dt.UTC)


def typed_to_utc(value: dt.datetime, tz: Zone, field: str) -> dt.datetime:
    """A time a person typed (``field`` of a form or body), as UTC: ``to_utc``, with a time
    in the spring gap refused as 422 ``validation-error`` (``nonexistent-local-time``)."""
    try:
        return to_utc(value, tz)
    except NonexistentLocalTime:
        raise InvalidInput(field, "nonexistent-local-time") from None


def boundary_to_utc(value: dt.datetime, tz: Zone) -> dt.datetime:
    """A period's end computed from rules, as UTC; never refused.

    A wall time in the gap is read with the offset in force before the change, i.e.
    moved forward by the gap's length (02:30 → 03:30 in Europe/Paris). For the ends of
    periods computed from opening rules (a slot's end, a local midnight), never for a
    time a person typed (that one goes through ``to_utc`` and may be refused).
    """
    if value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    return value.replace(tzinfo=zone(tz), fold=0).astimezone(dt.UTC)


def to_local(value: dt.datetime, tz: Zone) -> dt.datetime:
    """An instant shown in the structure's zone (ISO 8601 with the local offset).

    A naive value is UTC (SQLite may hand one back).
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(zone(tz))


def local_date(value: dt.datetime, tz: Zone) -> dt.date:
    return to_local(value, tz).date()
