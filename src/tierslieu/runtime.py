"""Process-wide guards: the request time limit, event-loop lag, safe log text, safe bodies.

Nothing here knows about bookings or calendars; ``app.py`` wires each piece.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import sys
from collections import deque
from collections.abc import Callable
from typing import Any

import anyio
from litestar import Request
from litestar.exceptions import SerializationException
from litestar.types import ASGIApp, Receive, Scope, Send

from tierslieu.errors import DomainError, NotFound
from tierslieu.i18n import N_

logger = logging.getLogger("tierslieu")

LOG_VALUE_MAX = 300


def for_log(value: object) -> str:
    """A caller-supplied value made safe for one log line.

    Every non-printable character (CR, LF, NUL, other controls, bidirectional overrides)
    is written as its escape (``\\n``, ``\\x00``, ``\\u202e``), so a caller can neither
    start a forged log line nor hide text; long values are cut.
    """
    text = str(value)
    if len(text) > LOG_VALUE_MAX:
        text = text[:LOG_VALUE_MAX] + "…"
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


# --- request time limit ------------------------------------------------------------------


class RequestTimedOut(DomainError):
    code = "request-timeout"
    status = 503
    title = N_("Requête trop longue")
    detail = N_(
        "La requête a dépassé {seconds} s et a été interrompue ; rien n'a été enregistré. "
        "Réessayez dans un instant."
    )


def request_timeout(seconds: float) -> Callable[[ASGIApp], ASGIApp]:
    """ASGI middleware factory: a request still running after ``seconds`` is cancelled and
    answered 503 ``request-timeout``. Once its response has started (a streamed body, a
    feed) the limit no longer applies. The interrupted database call invalidates its
    connection; the request's session is closed as usual when the 503 is sent.

    A limit can only interrupt a request that waits (a lock, the database, the network):
    CPU work that holds the event loop is kept off it elsewhere.
    """

    def middleware(app: ASGIApp) -> ASGIApp:
        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            started = False
            with anyio.CancelScope(deadline=anyio.current_time() + seconds) as limit:

                async def send_and_watch(message: Any) -> None:
                    nonlocal started
                    if message["type"] == "http.response.start":
                        started = True
                        limit.deadline = math.inf  # the answer is on its way: let it finish
                    # A send is never interrupted: an answer ready just after the limit (a cut
                    # already called) still goes out whole rather than half-written.
                    with anyio.CancelScope(shield=True):
                        await send(message)

                await app(scope, receive, send_and_watch)
            if limit.cancelled_caught and not started:
                logger.warning(
                    "request cut after %s s: %s %s",
                    f"{seconds:g}",
                    scope.get("method", ""),
                    for_log(scope.get("path", "")),
                )
                raise RequestTimedOut({"seconds": f"{seconds:g}"}, headers={"Retry-After": "5"})

        return guarded

    return middleware


# --- paths and bodies a handler cannot take --------------------------------------------------


def refuse_nul_in_path(app: ASGIApp) -> ASGIApp:
    """A path holding a NUL character names no file nor route: 404, not a crash in ``stat``."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "\x00" in scope.get("path", ""):
            raise NotFound()
        await app(scope, receive, send)

    return guarded


class SafeJSONRequest(Request[Any, Any, Any]):
    """A request whose JSON body that is not UTF-8, or nested too deep for the decoder,
    is a malformed body (400) like any other JSON syntax error, not a crash."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except (UnicodeDecodeError, RecursionError):
            raise SerializationException("Malformed JSON: not UTF-8 or nested too deep") from None


# --- event-loop lag --------------------------------------------------------------------------


class LoopLag:
    """How late a callback scheduled every ``interval`` seconds actually ran; the maximum
    over the last ``window`` seconds is what ``/health`` reports as ``loop_lag_ms``.

    With ``history`` (benchmarks: ``TIERSLIEU_LOOP_LAG_LOG=1``, 10 ms interval) every lag is
    also kept, and :meth:`report` prints the percentiles at shutdown for ``benchmarks/run.py``.
    """

    def __init__(self, interval: float = 0.1, window: float = 60.0, history: int = 0) -> None:
        self.interval = interval
        self.window = window
        self._samples: deque[tuple[float, float]] = deque()
        self._history: deque[float] | None = deque(maxlen=history) if history else None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            expected = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            now = loop.time()
            lag = max(0.0, now - expected)
            self._samples.append((now, lag))
            if self._history is not None:
                self._history.append(lag * 1000)
            while self._samples and self._samples[0][0] < now - self.window:
                self._samples.popleft()

    def max_ms(self) -> float:
        """The worst lag of the last window, in milliseconds (one decimal)."""
        worst = max((lag for _, lag in self._samples), default=0.0)
        return round(worst * 1000, 1)

    def report(self) -> None:
        """With a history: one ``LOOP_LAG_MS n= p50= p99= max=`` line on stderr (straight
        there: the line must reach the benchmark whatever logging became)."""
        if self._history is None:
            return
        ordered = sorted(self._history)
        n = len(ordered)

        def at(q: float) -> float:
            return ordered[min(n - 1, int(q * n))] if n else 0.0

        print(
            f"LOOP_LAG_MS n={n} p50={at(0.5):.2f} p99={at(0.99):.2f} max={at(1.0):.2f}",
            file=sys.stderr,
            flush=True,
        )


# --- warm-up ---------------------------------------------------------------------------------


def warm_up() -> None:
    """What the first requests would otherwise pay for while holding the GIL: module imports
    (unmarshalling code never lets another thread run: the first feed stalled the event loop
    for 60–230 ms even though it was built in a worker thread), the ORM mappers' set-up, this
    year's and next year's public holidays, the message catalogues and Babel's locale data,
    icalendar's serialisation. Run once per process, in a worker thread, before the
    lag probe starts and before the first request."""
    import datetime as dt

    from sqlalchemy.orm import configure_mappers

    from tierslieu import i18n, models  # noqa: F401  (mappers registered)
    from tierslieu.calendar import FeedCalendar, FeedEvent, build_calendar
    from tierslieu.domain.slots import public_holidays
    from tierslieu.templating import moment

    configure_mappers()
    today = dt.datetime.now(dt.UTC)
    public_holidays(today.date(), today.date() + dt.timedelta(days=400), None)
    for lang in i18n.LANGUAGES:
        i18n.texts(lang)("Réservation : {place}", place="-")
        moment(today, lang, "Europe/Paris")
    build_calendar(
        FeedCalendar(
            name="warm-up",
            description="warm-up",
            timezone="Europe/Paris",
            events=(
                FeedEvent(
                    uid="warm-up@tierslieu",
                    summary="warm-up",
                    start=today,
                    end=today + dt.timedelta(hours=1),
                    last_modified=today,
                ),
            ),
            last_modified=today,
        )
    )


def freeze_startup_heap() -> None:
    """Move every object alive after start-up (modules, routes, the ORM's mappers, Litestar's
    signature models: ~250,000 of them) out of the garbage collector's reach.

    CPython's full collection walks every tracked object; here that is 130-160 ms with the
    GIL held, and it came back every few seconds under load: the p99 of an uncached listing
    was 120-170 ms for a p50 of 20 ms, all of it those pauses. After ``gc.freeze()`` a full
    collection walks only what was made since (4 ms). Called once per process, before the
    first request (with several workers, in each); later calls (an app made again in the
    same process: the tests) do nothing."""
    if gc.get_freeze_count():
        return
    gc.collect()
    gc.freeze()
