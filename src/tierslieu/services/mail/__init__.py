"""What each notification says: one renderer per ``domain.notifications.Kind``.

A renderer turns a row's ``params`` snapshot into a ``Mail`` in the recipient's language
(gettext catalogues, ``i18n.texts``): a subject, a plain-text part, an HTML part, and for
bookings and meal orders an iTIP calendar part (METHOD REQUEST or CANCEL) with the same
UID and SEQUENCE as the person's feed. The same text serves the staff call list (what to
say on the phone). Renderers are pure: no database, no network; they run in the delivery
worker, off the event loop when they are heavy.

Modules register with ``@renderer(Kind.X)``; ``render`` imports them on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tierslieu.domain.notifications import Kind
from tierslieu.settings import Settings


@dataclass(frozen=True, slots=True)
class Mail:
    subject: str
    text: str
    html: str | None = None
    # An iCalendar object with METHOD (REQUEST or CANCEL), sent as text/calendar.
    calendar: bytes | None = None
    calendar_method: str | None = None
    # Reminders: the one-click unsubscribe link (List-Unsubscribe, RFC 8058).
    unsubscribe_url: str | None = None


Renderer = Callable[[Mapping[str, Any], str, Settings], Mail]

_RENDERERS: dict[Kind, Renderer] = {}
# The modules that hold renderers (imported on first use, so importing this is cheap).
MODULES = (
    "tierslieu.services.mail.bookings",
    "tierslieu.services.mail.series",
    "tierslieu.services.mail.orders",
    "tierslieu.services.mail.accounts",
    "tierslieu.services.mail.reminders",
    "tierslieu.services.mail.digest",
)
_loaded = False


def renderer(kind: Kind) -> Callable[[Renderer], Renderer]:
    def register(function: Renderer) -> Renderer:
        _RENDERERS[kind] = function
        return function

    return register


def _load() -> None:
    global _loaded
    if not _loaded:
        for module in MODULES:
            importlib.import_module(module)
        _loaded = True


def render(kind: str, params: Mapping[str, Any], language: str, settings: Settings) -> Mail:
    """The mail for one outbox row. Raises KeyError for a kind without renderer."""
    _load()
    return _RENDERERS[Kind(kind)](params, language, settings)


def kinds_rendered() -> frozenset[Kind]:
    _load()
    return frozenset(_RENDERERS)
