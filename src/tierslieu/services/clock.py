"""The one source of "now", so rules about time can be tested at any instant."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

_frozen_at: dt.datetime | None = None


def utcnow() -> dt.datetime:
    return _frozen_at if _frozen_at is not None else dt.datetime.now(dt.UTC)


@contextmanager
def frozen(at: dt.datetime) -> Iterator[None]:
    """Make ``utcnow()`` answer ``at`` (an aware datetime) in this process, for tests."""
    global _frozen_at
    if at.tzinfo is None:
        raise ValueError("frozen() needs an aware datetime")
    previous, _frozen_at = _frozen_at, at.astimezone(dt.UTC)
    try:
        yield
    finally:
        _frozen_at = previous


def travel_to(at: dt.datetime | None) -> None:
    """Set (or, with None, release) the frozen instant; for tests that move time forward."""
    global _frozen_at
    _frozen_at = None if at is None else at.astimezone(dt.UTC)
