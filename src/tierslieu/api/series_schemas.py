"""The ``repeat`` member of ``POST /api/bookings`` (kept apart: ``api/bookings.py`` reads it
and ``api/series.py`` answers with the bookings' own schema)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from tierslieu.api.schemas import Strict
from tierslieu.domain.series import MAX_EVERY_WEEKS, Repeat


class RepeatIn(Strict):
    """Every ``every_weeks`` weeks, ``count`` times or until the local date ``until``
    (exactly one of the two; at most 52 occurrences)."""

    every_weeks: Annotated[int, msgspec.Meta(ge=1, le=MAX_EVERY_WEEKS)] = 1
    count: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None
    until: dt.date | None = None

    def repeat(self) -> Repeat:
        return Repeat(every_weeks=self.every_weeks, count=self.count, until=self.until)
