"""Calendar feeds: secret tokens, the feeds themselves, and closures imported from .ics.

Guarantees:
- A feed token is 192 random bits shown once; only its SHA-256 is stored, and the
  presented token is compared with ``hmac.compare_digest``. Rotating deletes the
  old row and inserts the new one in one transaction: the old URL is dead at once.
- Public asset feeds never carry a person's name, phone or e-mail.
- The same data gives the same bytes; a cheap change marker (counts and latest
  ``updated_at``) is computed before anything is built, so an unchanged feed is
  answered 304 from the marker and a small per-process cache.
- A refused import changes nothing (the file is read and checked before any write).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import re
import secrets
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import anyio.to_thread
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from tierslieu.calendar import (
    FeedCalendar,
    FeedEvent,
    ImportedClosure,
    build_calendar,
    etag_of,
    import_window,
    make_uid,
    parse_closures,
)
from tierslieu.db import insert_for
from tierslieu.domain.bookings import ACTIVE_STATUSES, BookingStatus
from tierslieu.domain.slots import public_holidays
from tierslieu.domain.vocabulary import ASSET_MANAGING_ROLES, BookingMode
from tierslieu.errors import NotFound
from tierslieu.i18n import Texts, texts
from tierslieu.labels import label
from tierslieu.models import (
    Asset,
    AvailabilityRule,
    Booking,
    Closure,
    FeedToken,
    MealOrder,
    MealOrderLine,
    MenuItem,
    PickupWindow,
    SlotCounter,
    Structure,
    User,
)
from tierslieu.services import bookings as booking_service
from tierslieu.services import canteen_orders, listing_cache
from tierslieu.services.access import has_role, structure_for
from tierslieu.services.assets import get_asset, managed_asset
from tierslieu.services.availability import bookings_outside_opening, load_schedule
from tierslieu.services.clock import utcnow
from tierslieu.services.schedule_cache import FULL_FOR_NEWCOMERS
from tierslieu.settings import Settings
from tierslieu.templating import clock, moment

DAYS_BACK = 30
DAYS_AHEAD = 365
CANCELLED_KEPT_DAYS = 30
TOKEN_BYTES = 24  # 192 bits
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{32}")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

_GONE_BOOKING = (BookingStatus.CANCELLED.value, BookingStatus.DECLINED.value)
# Waiting-list entries stay out of the feeds until promoted (docs/decisions.md); the
# one-booking .ics of an entry says TENTATIVE.
_WAITING = BookingStatus.WAITLISTED.value


# --- tokens -------------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class FeedLinks:
    https: str
    webcal: str


def asset_feed_links(settings: Settings, asset_id: uuid.UUID) -> FeedLinks:
    """The public feed of an asset (open slots, places left, closures; never a name)."""
    return _links(settings, f"/ical/assets/{asset_id}.ics")


def _links(settings: Settings, path: str) -> FeedLinks:
    base = settings.public_url.rstrip("/")
    https = base + path
    if https.startswith("http://"):
        webcal = "webcal://" + https.removeprefix("http://")
    else:
        webcal = "webcal://" + https.removeprefix("https://")
    return FeedLinks(https=https, webcal=webcal)


async def _rotate(
    session: AsyncSession, user: User, scope: str, structure: Structure | None
) -> str:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    scope_key = "me" if structure is None else f"staff:{structure.id.hex}"
    await session.execute(
        delete(FeedToken).where(FeedToken.user_id == user.id, FeedToken.scope_key == scope_key)
    )
    session.add(
        FeedToken(
            user_id=user.id,
            structure_id=None if structure is None else structure.id,
            scope=scope,
            scope_key=scope_key,
            token_hash=_hash(token),
        )
    )
    await session.commit()
    return token


async def rotate_person_token(session: AsyncSession, user: User, settings: Settings) -> FeedLinks:
    """A new secret URL for the person's own feed; the previous one stops working now."""
    token = await _rotate(session, user, "me", None)
    return _links(settings, f"/ical/me/{token}.ics")


async def rotate_staff_token(
    session: AsyncSession, user: User, slug: str, settings: Settings
) -> FeedLinks:
    """A new secret URL for a structure's staff feed (its managers and staff only)."""
    structure = await structure_for(session, user, slug, ASSET_MANAGING_ROLES)
    token = await _rotate(session, user, "staff", structure)
    return _links(settings, f"/ical/structures/{structure.slug}/{token}.ics")


async def _token_row(session: AsyncSession, token: str, scope: str) -> FeedToken | None:
    """The row for ``token``, compared in constant time; None for anything else."""
    candidate = _hash(token if TOKEN_RE.fullmatch(token) else "x" * 32)
    row = await session.scalar(select(FeedToken).where(FeedToken.token_hash == candidate))
    expected = row.token_hash if row is not None else "0" * 64
    if not hmac.compare_digest(candidate, expected) or not TOKEN_RE.fullmatch(token):
        return None
    if row is None or row.scope != scope:
        return None
    return row


async def person_for_token(session: AsyncSession, token: str) -> User:
    row = await _token_row(session, token, "me")
    user = None if row is None else await session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise NotFound()
    return user


async def staff_for_token(session: AsyncSession, slug: str, token: str) -> tuple[User, Structure]:
    """The staff member and structure of a staff feed; 404 unless still staff there."""
    row = await _token_row(session, token, "staff")
    if row is None:
        raise NotFound()
    structure = await session.scalar(select(Structure).where(Structure.slug == slug))
    user = await session.get(User, row.user_id)
    if (
        structure is None
        or row.structure_id != structure.id
        or user is None
        or not user.is_active
        or not await has_role(session, user, structure.id, ASSET_MANAGING_ROLES)
    ):
        raise NotFound()
    return user, structure


# --- feed window, change marker and cache ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """[starts_at, ends_at) in UTC, whole UTC days, so it changes once a day."""

    starts_at: dt.datetime
    ends_at: dt.datetime
    cancelled_since: dt.datetime

    @classmethod
    def around(cls, now: dt.datetime) -> Window:
        today = dt.datetime.combine(now.astimezone(dt.UTC).date(), dt.time(), dt.UTC)
        return cls(
            starts_at=today - dt.timedelta(days=DAYS_BACK),
            ends_at=today + dt.timedelta(days=DAYS_AHEAD + 1),
            cancelled_since=today - dt.timedelta(days=CANCELLED_KEPT_DAYS),
        )


@dataclass(frozen=True, slots=True)
class Marker:
    """What a feed depends on, cheap to read: equal markers mean equal bytes."""

    key: str
    last_modified: dt.datetime


@dataclass(frozen=True, slots=True)
class RenderedFeed:
    body: bytes
    etag: str
    last_modified: dt.datetime


_CACHE: OrderedDict[str, tuple[str, RenderedFeed]] = OrderedDict()
_CACHE_SIZE = 512


def _aware(value: dt.datetime | None) -> dt.datetime:
    if value is None:
        return EPOCH
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _marker(feed_id: str, window: Window, *parts: object) -> Marker:
    stamps = [_aware(p) for p in parts if isinstance(p, dt.datetime) or p is None]
    text = "|".join([feed_id, window.starts_at.date().isoformat(), *map(str, parts)])
    return Marker(
        key=hashlib.sha256(text.encode()).hexdigest(),
        last_modified=max([EPOCH, *stamps]).astimezone(dt.UTC).replace(microsecond=0),
    )


def cached(feed_id: str, marker: Marker) -> RenderedFeed | None:
    hit = _CACHE.get(feed_id)
    if hit is None or hit[0] != marker.key:
        return None
    _CACHE.move_to_end(feed_id)
    return hit[1]


async def render(
    feed_id: str, marker: Marker, build: Callable[[], Awaitable[FeedCalendar]]
) -> RenderedFeed:
    """The feed for ``marker``, built only when the cache does not already hold it."""
    hit = cached(feed_id, marker)
    if hit is not None:
        return hit
    calendar = await build()
    body = await anyio.to_thread.run_sync(build_calendar, calendar)  # CPU: off the event loop
    rendered = RenderedFeed(body, etag_of(body), marker.last_modified)
    _CACHE[feed_id] = (marker.key, rendered)
    _CACHE.move_to_end(feed_id)
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return rendered


def clear_cache() -> None:
    _CACHE.clear()


# --- texts ---------------------------------------------------------------------------------


def _address(structure: Structure) -> str:
    town = " ".join(p for p in (structure.postcode, structure.commune) if p)
    return ", ".join(p for p in (structure.name, structure.address, town) if p)


def _places(_: Texts, remaining: int, capacity: int) -> str:
    if remaining <= 0:
        return _.ngettext("complet ({n} place)", "complet ({n} places)", capacity)
    return _.ngettext(
        "{n} place libre sur {capacity}",
        "{n} places libres sur {capacity}",
        remaining,
        capacity=capacity,
    )


def _booking_status(booking: Booking) -> str:
    if booking.status in _GONE_BOOKING:
        return "CANCELLED"
    if booking.status in (BookingStatus.PENDING.value, _WAITING):
        return "TENTATIVE"
    return "CONFIRMED"


def booking_event(
    booking: Booking,
    asset: Asset,
    structure: Structure,
    *,
    person: tuple[str | None, str | None, str | None] | None = None,
    lang: str = "fr",
) -> FeedEvent:
    """A booking as an event, its texts in ``lang`` (the feed owner's language).

    ``person`` (name, phone, e-mail) only for staff views."""
    _ = texts(lang)
    status = _booking_status(booking)
    where = _address(structure)
    lines = [
        _("Lieu : {place}", place=asset.name),
        _("Structure : {address}", address=where),
        _("Personnes : {n}", n=booking.party_size),
        _("Statut : {status}", status=label(lang, "status", booking.status)),
    ]
    if person is not None:
        name, phone, email = person
        summary = _.ngettext(
            "{place} — {name} ({n} personne)",
            "{place} — {name} ({n} personnes)",
            booking.party_size,
            place=asset.name,
            name=name or _("personne sans nom"),
        )
        lines += [
            _("Personne : {name}", name=name or "—"),
            _("Téléphone : {phone}", phone=phone or "—"),
        ]
        if email:
            lines.append(_("E-mail : {email}", email=email))
        if booking.note:
            lines.append(_("Note : {note}", note=booking.note))
    elif status == "TENTATIVE":
        summary = _("Réservation en attente : {place}", place=asset.name)
    else:
        summary = _("Réservation : {place}", place=asset.name)
    if status == "CANCELLED":
        summary = _("Annulée — {summary}", summary=summary)
    series_id = getattr(booking, "series_id", None)
    if series_id is not None:
        lines.append(_("Réservation régulière : une séance d'une série."))
    return FeedEvent(
        uid=make_uid("booking", booking.id),
        summary=summary,
        start=booking.starts_at,
        end=booking.ends_at,
        last_modified=_aware(booking.updated_at),
        created=_aware(booking.created_at),
        description="\n".join(lines),
        location=where,
        status=status,  # type: ignore[arg-type]
        sequence=booking.sequence,
        related_to=make_uid("series", series_id) if series_id is not None else None,
    )


def order_event(
    order: MealOrder,
    window: PickupWindow,
    structure: Structure,
    items: list[tuple[int, str]],
    lang: str = "fr",
) -> FeedEvent:
    """A meal order as its pickup window. No SEQUENCE column on orders: 0, then 1 once cancelled."""
    _ = texts(lang)
    tz = structure.timezone
    cancelled = order.status == "cancelled"
    summary = _("Retrait repas — {structure}", structure=structure.name)
    if cancelled:
        summary = _("Annulée — {summary}", summary=summary)
    lines = [
        _("Commande {reference}", reference=canteen_orders.order_ref(order.id)),
        *(f"{quantity} × {name}" for quantity, name in items),
    ]
    if order.suspended_meals:
        lines.append(
            _.ngettext(
                "{n} repas suspendu offert", "{n} repas suspendus offerts", order.suspended_meals
            )
        )
    lines += [
        _(
            "Retrait : {starts} – {ends}",
            starts=moment(window.starts_at, lang, tz),
            ends=clock(window.ends_at, lang, tz),
        ),
        _("Statut : {status}", status=label(lang, "order_status", order.status)),
        _("Adresse : {address}", address=_address(structure)),
    ]
    return FeedEvent(
        uid=make_uid("meal-order", order.id),
        summary=summary,
        start=window.starts_at,
        end=window.ends_at,
        last_modified=max(_aware(order.updated_at), _aware(window.updated_at)),
        created=_aware(order.created_at),
        description="\n".join(lines),
        location=_address(structure),
        status="CANCELLED" if cancelled else "CONFIRMED",
        sequence=1 if cancelled else 0,
    )


def _kept(status_col, gone: tuple[str, ...], changed_col, window: Window):  # type: ignore[no-untyped-def]
    """Active items, or gone ones changed within the last 30 days."""
    return or_(status_col.not_in(gone), changed_col >= window.cancelled_since)


# --- public asset feed ---------------------------------------------------------------------


async def asset_marker(session: AsyncSession, asset_id: uuid.UUID, window: Window) -> Marker:
    """A few aggregate reads, no feed building: what the public asset feed depends on."""
    asset = await get_asset(session, asset_id)
    structure = asset.structure
    bookings = (
        await session.execute(
            select(
                func.count(Booking.id),
                func.max(Booking.updated_at),
                func.sum(Booking.sequence),
            ).where(Booking.asset_id == asset.id)
        )
    ).one()
    closures = (
        await session.execute(
            select(func.count(Closure.id), func.max(Closure.updated_at)).where(
                Closure.asset_id == asset.id
            )
        )
    ).one()
    rules = (
        await session.execute(
            select(func.count(AvailabilityRule.id), func.max(AvailabilityRule.updated_at)).where(
                AvailabilityRule.asset_id == asset.id
            )
        )
    ).one()
    counters = (
        await session.execute(
            select(
                func.count(SlotCounter.id),
                func.max(SlotCounter.updated_at),
                func.sum(SlotCounter.taken),
            ).where(SlotCounter.asset_id == asset.id)
        )
    ).one()
    return _marker(
        f"asset:{asset.id}",
        window,
        asset.updated_at,
        structure.updated_at,
        *bookings,
        closures[0],
        closures[1],
        rules[0],
        rules[1],
        *counters,
    )


async def asset_feed(
    session: AsyncSession, asset_id: uuid.UUID, window: Window, lang: str = "fr"
) -> FeedCalendar:
    """Opening slots with places left (shared) or busy blocks (exclusive), and closures.

    A public feed has no owner: its texts are French unless ``lang`` says otherwise."""
    _ = texts(lang)
    asset = await get_asset(session, asset_id)
    structure: Structure = asset.structure
    tz = ZoneInfo(structure.timezone)
    first_day = window.starts_at.astimezone(tz).date()
    last_day = (window.ends_at - dt.timedelta(seconds=1)).astimezone(tz).date()
    schedule = await load_schedule(session, asset, first_day, last_day)
    rules_changed = max(
        [
            _aware(asset.updated_at),
            *(
                _aware(v)
                for v in await session.scalars(
                    select(AvailabilityRule.updated_at).where(AvailabilityRule.asset_id == asset.id)
                )
            ),
        ]
    )
    closure_rows = list(
        await session.scalars(
            select(Closure).where(
                Closure.asset_id == asset.id,
                Closure.starts_at < window.ends_at,
                Closure.ends_at > window.starts_at,
            )
        )
    )
    shared = asset.booking_mode == BookingMode.SHARED
    if shared:
        taken_at = {
            # A slot with a waiting list has no place for newcomers: full (as the listing).
            c.starts_at: (FULL_FOR_NEWCOMERS if c.waiting else c.taken, _aware(c.updated_at))
            for c in await session.scalars(
                select(SlotCounter).where(
                    SlotCounter.asset_id == asset.id,
                    SlotCounter.starts_at >= window.starts_at,
                    SlotCounter.starts_at < window.ends_at,
                )
            )
        }
        busy: list[Booking] = []
    else:
        taken_at = {}
        busy = list(
            await session.scalars(
                select(Booking).where(
                    Booking.asset_id == asset.id,
                    Booking.status.in_([s.value for s in ACTIVE_STATUSES]),
                    Booking.starts_at < window.ends_at,
                    Booking.ends_at > window.starts_at,
                )
            )
        )

    def inside(start: dt.datetime, end: dt.datetime) -> bool:
        return start < window.ends_at and end > window.starts_at

    def build() -> FeedCalendar:
        """A year of slots or openings, closures and holidays: CPU work, run off the loop
        (thousands of events; the rows were all read above, nothing is loaded here)."""
        name, address = asset.name, _address(structure)
        events: list[FeedEvent] = []
        if shared:
            for slot, closed in schedule.slots_with_closures():
                if closed is not None or not inside(slot.starts_at, slot.ends_at):
                    continue
                taken, updated = taken_at.get(slot.starts_at, (0, rules_changed))
                events.append(
                    FeedEvent(
                        uid=make_uid("slot", f"{asset_id}-{slot.starts_at:%Y%m%dT%H%M%SZ}"),
                        summary=f"{name} — {_places(_, max(0, slot.capacity - taken), slot.capacity)}",
                        start=slot.starts_at,
                        end=slot.ends_at,
                        last_modified=max(rules_changed, updated),
                        location=address,
                        transparent=True,
                    )
                )
        else:
            opened = _("{place} — ouvert", place=name)
            for period in schedule.opening():
                if not inside(period.starts_at, period.ends_at):
                    continue
                events.append(
                    FeedEvent(
                        uid=make_uid("open", f"{asset.id}-{period.starts_at:%Y%m%dT%H%M%SZ}"),
                        summary=opened,
                        start=period.starts_at,
                        end=period.ends_at,
                        last_modified=rules_changed,
                        location=address,
                        transparent=True,
                    )
                )
            reserved = _("{place} — réservé", place=name)
            for booking in busy:
                events.append(
                    FeedEvent(
                        uid=make_uid("busy", booking.id),
                        summary=reserved,
                        start=booking.starts_at,
                        end=booking.ends_at,
                        last_modified=_aware(booking.updated_at),
                        location=address,
                        status="TENTATIVE" if booking.status == "pending" else "CONFIRMED",
                    )
                )
        for closure in closure_rows:
            # An imported closure's title comes from someone else's calendar: not shown publicly.
            reason = closure.reason if closure.external_uid is None and closure.reason else ""
            summary = (
                _("{place} — fermé : {reason}", place=name, reason=reason)
                if reason
                else _("{place} — fermé", place=name)
            )
            start: dt.datetime | dt.date = closure.starts_at
            end: dt.datetime | dt.date = closure.ends_at
            if closure.starts_on is not None and closure.ends_on is not None:
                start, end = closure.starts_on, closure.ends_on + dt.timedelta(days=1)
            events.append(
                FeedEvent(
                    uid=make_uid("closure", closure.id),
                    summary=summary,
                    start=start,
                    end=end,
                    last_modified=_aware(closure.updated_at),
                    created=_aware(closure.created_at),
                )
            )
        if structure.closed_on_public_holidays:
            holiday = _("{place} — fermé (jour férié)", place=name)
            for day in public_holidays(first_day, last_day, structure.holiday_subdivision):
                events.append(
                    FeedEvent(
                        uid=make_uid("holiday", f"{asset.id}-{day:%Y%m%d}"),
                        summary=holiday,
                        start=day,
                        end=day + dt.timedelta(days=1),
                        last_modified=_aware(structure.updated_at),
                    )
                )
        return FeedCalendar(
            name=f"{name} — {structure.name}",
            description=_(
                "Ouvertures et fermetures : {place}, {address}", place=name, address=address
            ),
            timezone=structure.timezone,
            events=tuple(events),
            last_modified=max(rules_changed, _aware(structure.updated_at)),
        )

    return await anyio.to_thread.run_sync(build)


# --- person feed -------------------------------------------------------------------------------


async def person_marker(session: AsyncSession, user: User, window: Window) -> Marker:
    bookings = (
        await session.execute(
            select(
                func.count(Booking.id),
                func.max(Booking.updated_at),
                func.max(Asset.updated_at),
                func.max(Structure.updated_at),
                func.sum(Booking.sequence),
            )
            .join(Asset, Asset.id == Booking.asset_id)
            .join(Structure, Structure.id == Asset.structure_id)
            .where(Booking.user_id == user.id)
        )
    ).one()
    orders = (
        await session.execute(
            select(
                func.count(MealOrder.id),
                func.max(MealOrder.updated_at),
                func.max(PickupWindow.updated_at),
                func.count(MealOrder.cancelled_at),
                func.count(MealOrder.pickup_window_id.distinct()),
            )
            .join(PickupWindow, PickupWindow.id == MealOrder.pickup_window_id)
            .where(MealOrder.user_id == user.id)
        )
    ).one()
    return _marker(f"me:{user.id}", window, user.updated_at, *bookings, *orders)


async def _order_items(
    session: AsyncSession, order_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[int, str]]]:
    items: dict[uuid.UUID, list[tuple[int, str]]] = {i: [] for i in order_ids}
    if not order_ids:
        return items
    rows = await session.execute(
        select(MealOrderLine.order_id, MealOrderLine.quantity, MenuItem.name)
        .join(MenuItem, MenuItem.id == MealOrderLine.item_id)
        .where(MealOrderLine.order_id.in_(order_ids))
        .order_by(MenuItem.position, MenuItem.name)
    )
    for order_id, quantity, name in rows.tuples():
        items[order_id].append((quantity, name))
    return items


async def person_feed(session: AsyncSession, user: User, window: Window) -> FeedCalendar:
    """The person's bookings and meal orders (cancelled ones for 30 days), in their language."""
    lang = user.locale or "fr"
    _ = texts(lang)
    rows = await session.execute(
        select(Booking, Asset, Structure)
        .join(Asset, Asset.id == Booking.asset_id)
        .join(Structure, Structure.id == Asset.structure_id)
        .where(
            Booking.user_id == user.id,
            Booking.starts_at < window.ends_at,
            Booking.ends_at > window.starts_at,
            _kept(Booking.status, _GONE_BOOKING, Booking.updated_at, window),
            Booking.status != _WAITING,  # an entry on a waiting list is no appointment
        )
    )
    booking_rows = list(rows.tuples())
    order_rows = list(
        (
            await session.execute(
                select(MealOrder, PickupWindow, Structure)
                .join(PickupWindow, PickupWindow.id == MealOrder.pickup_window_id)
                .join(Structure, Structure.id == MealOrder.structure_id)
                .where(
                    MealOrder.user_id == user.id,
                    PickupWindow.starts_at < window.ends_at,
                    PickupWindow.ends_at > window.starts_at,
                    _kept(MealOrder.status, ("cancelled",), MealOrder.updated_at, window),
                )
            )
        ).tuples()
    )
    items = await _order_items(session, [o.id for o, _, _ in order_rows])

    def build() -> FeedCalendar:  # texts and dates of every event: off the event loop
        events = [booking_event(b, a, s, lang=lang) for b, a, s in booking_rows]
        events += [order_event(o, w, s, items[o.id], lang) for o, w, s in order_rows]
        return FeedCalendar(
            name=_("Mes réservations et repas — tierslieu"),
            description=_("Vos réservations et vos commandes de repas"),
            events=tuple(events),
            last_modified=_aware(user.updated_at),
        )

    return await anyio.to_thread.run_sync(build)


# --- staff feed -------------------------------------------------------------------------------


async def staff_marker(session: AsyncSession, structure: Structure, window: Window) -> Marker:
    row = (
        await session.execute(
            select(
                func.count(Booking.id),
                func.max(Booking.updated_at),
                func.max(Asset.updated_at),
                func.max(User.updated_at),
                func.sum(Booking.sequence),
            )
            .join(Asset, Asset.id == Booking.asset_id)
            .outerjoin(User, User.id == Booking.user_id)
            .where(Asset.structure_id == structure.id)
        )
    ).one()
    return _marker(f"staff:{structure.id}", window, structure.updated_at, *row)


async def staff_feed(
    session: AsyncSession, structure: Structure, window: Window, lang: str = "fr"
) -> FeedCalendar:
    """Every booking of the structure, with the person's name, phone and e-mail (staff only).

    ``lang``: the language of the staff member whose link it is (French by default)."""
    _ = texts(lang)
    rows = await session.execute(
        select(Booking, Asset, User.display_name, User.phone, User.email)
        .join(Asset, Asset.id == Booking.asset_id)
        .outerjoin(User, User.id == Booking.user_id)
        .where(
            Asset.structure_id == structure.id,
            Booking.starts_at < window.ends_at,
            Booking.ends_at > window.starts_at,
            _kept(Booking.status, _GONE_BOOKING, Booking.updated_at, window),
            Booking.status != _WAITING,  # an entry on a waiting list is no appointment
        )
    )
    found = list(rows.tuples())

    def build() -> FeedCalendar:  # a structure's bookings can be thousands: off the event loop
        events = []
        for booking, asset, name, phone, email in found:
            person = (
                (name, phone, email)
                if booking.user_id is not None
                else (booking.guest_name, booking.guest_phone, booking.guest_email)
            )
            events.append(booking_event(booking, asset, structure, person=person, lang=lang))
        return FeedCalendar(
            name=_("Réservations — {structure}", structure=structure.name),
            description=_(
                "Toutes les réservations de {structure} (équipe)", structure=structure.name
            ),
            timezone=structure.timezone,
            events=tuple(events),
            last_modified=_aware(structure.updated_at),
        )

    return await anyio.to_thread.run_sync(build)


# --- single items ------------------------------------------------------------------------------


async def booking_calendar(session: AsyncSession, user: User, booking_id: uuid.UUID) -> bytes:
    """One booking as .ics, for whoever may read the booking itself (staff see the name)."""
    view = await booking_service.visible_booking(session, user, booking_id)
    person = None
    if view.caller_is_staff and view.booking.user_id != user.id:
        email = view.booking.guest_email
        if view.booking.user_id is not None:
            email = await session.scalar(select(User.email).where(User.id == view.booking.user_id))
        person = (view.person_name, view.person_phone, email)
    lang = user.locale or "fr"
    event = booking_event(view.booking, view.asset, view.structure, person=person, lang=lang)
    _ = texts(lang)
    name = _("Réservation : {place}", place=view.asset.name)
    return build_calendar(FeedCalendar(name=name, events=(event,)))


async def order_calendar(session: AsyncSession, user: User, order_id: uuid.UUID) -> bytes:
    """One meal order as .ics, for whoever may read the order itself."""
    view = await canteen_orders.get_order(session, user, order_id)
    items = [(line.quantity, item.name) for line, item in view.lines]
    lang = user.locale or "fr"
    event = order_event(view.order, view.window, view.structure, items, lang)
    _ = texts(lang)
    name = _("Repas — {structure}", structure=view.structure.name)
    return build_calendar(FeedCalendar(name=name, events=(event,)))


# --- import --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportResult:
    assets: int
    closures: int
    created: int
    updated: int
    unchanged: int
    bookings_affected: int


async def _apply(
    session: AsyncSession, asset: Asset, closures: list[ImportedClosure], now: dt.datetime
) -> tuple[int, int, int]:
    existing = {
        c.external_uid: c
        for c in await session.scalars(
            select(Closure).where(
                Closure.asset_id == asset.id,
                Closure.external_uid.in_([c.external_uid for c in closures]),
            )
        )
    }
    created = updated = unchanged = 0
    for item in closures:
        values = {
            "starts_at": item.starts_at,
            "ends_at": item.ends_at,
            "starts_on": item.starts_on,
            # Our closures keep an inclusive last day; iCalendar's DTEND date is exclusive.
            "ends_on": None if item.ends_on is None else item.ends_on - dt.timedelta(days=1),
            "reason": item.reason,
        }
        current = existing.get(item.external_uid)
        if current is None:
            insert = insert_for(session)(Closure).values(
                asset_id=asset.id,
                external_uid=item.external_uid,
                created_at=now,
                updated_at=now,
                **values,
            )
            result = await session.execute(
                insert.on_conflict_do_nothing(index_elements=["asset_id", "external_uid"])
            )
            created += result.rowcount or 0  # type: ignore[attr-defined]
        elif all(_same(getattr(current, k), v) for k, v in values.items()):
            unchanged += 1
        else:
            await session.execute(
                update(Closure)
                .where(Closure.id == current.id)
                .values(updated_at=now, **values)
                .execution_options(synchronize_session=False)
            )
            updated += 1
    return created, updated, unchanged


def _same(a: object, b: object) -> bool:
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return _aware(a) == _aware(b)
    return a == b


async def _import(
    session: AsyncSession, assets: list[Asset], structure: Structure, data: bytes
) -> ImportResult:
    now = utcnow()
    start, end = import_window(now)
    asset_ids = [asset.id for asset in assets]
    parse = functools.partial(
        parse_closures, data, timezone=structure.timezone, window_start=start, window_end=end
    )
    # Authorisation is done. Parsing is CPU work: end the transaction first (on SQLite the
    # queries above hold the write lock; nothing is written yet, and the request's session
    # does not expire what it loaded on commit), then parse off the event loop; it raises
    # before any write. The assets are read again in the write transaction that follows.
    await session.commit()
    closures = await anyio.to_thread.run_sync(parse)
    assets = list(
        await session.scalars(
            select(Asset)
            .where(Asset.id.in_(asset_ids), Asset.archived_at.is_(None))
            .options(selectinload(Asset.structure))
            .order_by(Asset.id)
        )
    )
    created = updated = unchanged = affected = 0
    for asset in assets:
        c, u, n = await _apply(session, asset, closures, now)
        created, updated, unchanged = created + c, updated + u, unchanged + n
    await session.flush()
    for asset in assets:
        affected += len(await bookings_outside_opening(session, asset))
    await session.commit()
    for asset in assets:
        listing_cache.forget(asset.id)
    return ImportResult(len(assets), len(closures), created, updated, unchanged, affected)


async def import_asset_closures(
    session: AsyncSession, user: User, asset_id: uuid.UUID, data: bytes
) -> ImportResult:
    """Each event occurrence of ``data`` (next 18 months) becomes a closure of the asset.

    Re-importing finds the same closures by their per-occurrence UID: nothing new is
    created; a moved event updates its closure. Closures are never deleted by an import.
    """
    asset = await managed_asset(session, user, asset_id)
    return await _import(session, [asset], asset.structure, data)


async def import_structure_closures(
    session: AsyncSession, user: User, slug: str, data: bytes
) -> ImportResult:
    """The same, applied to every non-archived asset of the structure (its staff)."""
    structure = await structure_for(session, user, slug, ASSET_MANAGING_ROLES)
    assets = list(
        await session.scalars(
            select(Asset).where(Asset.structure_id == structure.id, Asset.archived_at.is_(None))
        )
    )
    for asset in assets:
        asset.structure = structure
    return await _import(session, assets, structure, data)
