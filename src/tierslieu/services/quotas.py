"""Fair use, enforced in the booking's own transaction (rules in ``domain.quotas``).

Who « the person » is: the account or contact the booking is for, every contact of the
structure linked to that account or known by the same e-mail address or phone, and the
accounts those contacts are linked to or share an address with. Two accounts count as one
person when a contact ties them (same phone or address); two accounts with nothing in
common cannot be told apart (docs/decisions.md).

Exactness under concurrency: on SQLite a booking is one write transaction at a time (the
write queue); on PostgreSQL a transaction-scoped advisory lock on the asset makes the
bookings of an asset that has quotas check and write one after the other, across workers.
Assets without quotas pay nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.domain import quotas
from tierslieu.domain.bookings import ACTIVE_STATUSES
from tierslieu.domain.contacts import email_key, phone_key
from tierslieu.models import Booking, Contact, User

if TYPE_CHECKING:
    from tierslieu.models import Asset

# A person holding more than this on one asset is not a case to serve: the read stays bounded.
MAX_HELD_READ = 1000


def of(asset: Asset) -> quotas.Quotas:
    return quotas.Quotas(
        bookings_per_week=asset.quota_bookings_per_week,
        bookings_per_month=asset.quota_bookings_per_month,
        hours_per_week=asset.quota_hours_per_week,
        upcoming=asset.quota_upcoming,
    )


async def enforce(
    session: AsyncSession,
    asset: Asset,
    *,
    user_id: uuid.UUID | None,
    contact_id: uuid.UUID | None,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    now: dt.datetime,
    timezone: str,
    is_staff: bool,
    override: str = "",
) -> str | None:
    """Refuse a booking over the asset's quotas for its person (``QuotaReached``, 422).

    Staff may book over them by giving a reason: it is returned, to be kept with the
    booking; without one, the refusal tells them they may (``override_possible``)."""
    limits = of(asset)
    if not limits or (user_id is None and contact_id is None):
        return None
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(asset.id)}
        )
    users, contacts = await same_person(session, asset.structure_id, user_id, contact_id)
    held = await _held(session, asset.id, users, contacts, starts_at, now, timezone)
    try:
        quotas.check(limits, held, starts_at, ends_at, now=now, timezone=timezone)
    except quotas.QuotaReached as refusal:
        if is_staff and override.strip():
            return override.strip()
        if is_staff:
            refusal.extra["override_possible"] = True
        raise
    return None


async def same_person(
    session: AsyncSession,
    structure_id: uuid.UUID,
    user_id: uuid.UUID | None,
    contact_id: uuid.UUID | None,
) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """(account ids, contact ids) that are one person for the structure's quotas."""
    users: set[uuid.UUID] = set()
    emails: set[str] = set()
    phones: set[str] = set()
    contacts: set[uuid.UUID] = set()
    if user_id is not None:
        users.add(user_id)
        account = await session.get(User, user_id)
        if account is not None:
            emails.update(k for k in (email_key(account.email),) if k)
            phones.update(k for k in (phone_key(account.phone),) if k)
    if contact_id is not None:
        contacts.add(contact_id)
        contact = await session.get(Contact, contact_id)
        if contact is not None:
            if contact.user_id is not None:
                users.add(contact.user_id)
            emails.update(k for k in (contact.email_key,) if k)
            phones.update(k for k in (contact.phone_key,) if k)
    ties = [Contact.user_id.in_(users)] if users else []
    if emails:
        ties.append(Contact.email_key.in_(emails))
    if phones:
        ties.append(Contact.phone_key.in_(phones))
    if ties:
        rows = await session.execute(
            select(Contact.id, Contact.user_id, Contact.email_key).where(
                Contact.structure_id == structure_id, Contact.erased_at.is_(None), or_(*ties)
            )
        )
        for found, linked, address in rows:
            contacts.add(found)
            if linked is not None:
                users.add(linked)
            if address:
                emails.add(address)
    if emails:
        # Accounts store their address lower-cased (accounts.normalise_email): the unique
        # index answers, no scan of every account.
        users.update(await session.scalars(select(User.id).where(User.email.in_(emails))))
    return users, contacts


async def _held(
    session: AsyncSession,
    asset_id: uuid.UUID,
    users: set[uuid.UUID],
    contacts: set[uuid.UUID],
    starts_at: dt.datetime,
    now: dt.datetime,
    timezone: str,
) -> list[quotas.Held]:
    """The person's active bookings on the asset in the week and month of ``starts_at``,
    and every one still to come."""
    since, until = quotas.window(starts_at, now, timezone)
    whose = []
    if users:
        whose.append(Booking.user_id.in_(users))
    if contacts:
        whose.append(Booking.contact_id.in_(contacts))
    rows = await session.execute(
        select(Booking.starts_at, Booking.ends_at)
        .where(
            Booking.asset_id == asset_id,
            Booking.status.in_(ACTIVE_STATUSES),
            or_(*whose),
            or_(
                (Booking.starts_at >= since) & (Booking.starts_at < until),
                Booking.ends_at > now,
            ),
        )
        .order_by(Booking.ends_at)
        .limit(MAX_HELD_READ)
    )
    return [quotas.Held(_utc(s), _utc(e)) for s, e in rows]


def _lock_key(asset_id: uuid.UUID) -> int:
    """A signed 64-bit key for ``pg_advisory_xact_lock``, from the asset's id."""
    return int.from_bytes(asset_id.bytes[:8], "big", signed=True)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
