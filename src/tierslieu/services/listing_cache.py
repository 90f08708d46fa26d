"""A one-second, per-process cache of public availability listings.

Public listings are read far more often than they change (a whole quarter reloading the
Saturday garden at 8:00): each process keeps what it computed during the current second
(of ``utcnow()``, so a test clock moves it too). A write in this process drops the
asset's entries at once; another worker's write shows here within a second. Booking
itself always checks the database, never this cache.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

MAX_ENTRIES = 2048

_enabled = True
_entries: dict[tuple[Any, ...], Any] = {}
_second: int | None = None
# Computations under way: concurrent requests for the same key wait for the first one
# instead of all missing the cache at the turn of each second.
_inflight: dict[tuple[Any, ...], asyncio.Future[Any]] = {}


def configure(*, enabled: bool) -> None:
    """Turn the cache on or off for this process (``TIERSLIEU_LISTING_CACHE``)."""
    global _enabled
    _enabled = enabled
    _entries.clear()


def get(key: tuple[Any, ...], now: dt.datetime) -> Any | None:
    global _second
    if not _enabled:
        return None
    second = int(now.timestamp())
    if second != _second:
        _entries.clear()
        _second = second
    return _entries.get(key)


def put(key: tuple[Any, ...], now: dt.datetime, value: Any) -> None:
    if _enabled and int(now.timestamp()) == _second and len(_entries) < MAX_ENTRIES:
        _entries[key] = value


async def get_or_compute(
    key: tuple[Any, ...], now: dt.datetime, compute: Callable[[], Awaitable[Any]]
) -> Any:
    """The cached value for ``key`` this second, computed once however many ask at once."""
    if not _enabled:
        return await compute()
    if (cached := get(key, now)) is not None:
        return cached
    inflight_key = (*key, int(now.timestamp()))
    if (pending := _inflight.get(inflight_key)) is not None:
        return await asyncio.shield(pending)
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    _inflight[inflight_key] = future
    try:
        value = await compute()
    except BaseException as exc:
        future.set_exception(exc)
        future.exception()  # waiters re-raise it; mark it retrieved for the lone caller
        raise
    finally:
        _inflight.pop(inflight_key, None)
    future.set_result(value)
    put(key, now, value)
    return value


def forget(asset_id: uuid.UUID) -> None:
    """Drop every cached listing of an asset (after any change to it in this process)."""
    for key in [k for k in _entries if k[0] == asset_id]:
        _entries.pop(key, None)


def clear() -> None:
    """Drop everything (a structure-wide change, e.g. its holiday setting)."""
    _entries.clear()
