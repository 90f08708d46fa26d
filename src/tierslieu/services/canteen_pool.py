"""Repas suspendus: the structure's pool, its ledger, and single-use vouchers.

The balance only moves through conditional UPDATEs (``balance >= n`` for a debit)
under a CHECK ``balance >= 0``: two social workers giving the last meal at the same
second cannot both succeed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.db import insert_for
from tierslieu.domain import canteen as rules
from tierslieu.errors import DomainError, NotFound
from tierslieu.models import SuspendedMealEntry, SuspendedMealPool, SuspendedMealVoucher, User
from tierslieu.services.access import has_role, structure_by_slug, structure_for
from tierslieu.services.canteen import SOCIAL_ROLES, TARIFF_ROLES
from tierslieu.services.canteen_errors import PoolEmpty, VoucherUsed
from tierslieu.services.clock import utcnow


async def ensure_pool(session: AsyncSession, structure_id: uuid.UUID) -> None:
    """Create the structure's pool row if missing (safe when two requests race)."""
    now = utcnow()
    await session.execute(
        insert_for(session)(SuspendedMealPool)
        .values(
            structure_id=structure_id,
            balance=0,
            price_cents=None,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["structure_id"])
    )


async def pool_price(session: AsyncSession, structure_id: uuid.UUID) -> int | None:
    return await session.scalar(
        select(SuspendedMealPool.price_cents).where(SuspendedMealPool.structure_id == structure_id)
    )


async def credit(
    session: AsyncSession,
    structure_id: uuid.UUID,
    n: int,
    kind: rules.LedgerKind,
    *,
    order_id: uuid.UUID | None = None,
    voucher_id: uuid.UUID | None = None,
    person_id: uuid.UUID | None = None,
) -> None:
    """Add ``n`` meals to the pool and write the ledger line (caller commits)."""
    await ensure_pool(session, structure_id)
    await session.execute(
        update(SuspendedMealPool)
        .where(SuspendedMealPool.structure_id == structure_id)
        .values(balance=SuspendedMealPool.balance + n, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.add(
        SuspendedMealEntry(
            structure_id=structure_id,
            kind=kind.value,
            delta=n,
            order_id=order_id,
            voucher_id=voucher_id,
            person_id=person_id,
        )
    )


async def debit(
    session: AsyncSession,
    structure_id: uuid.UUID,
    n: int,
    kind: rules.LedgerKind,
    error: type[DomainError] = PoolEmpty,
    *,
    order_id: uuid.UUID | None = None,
    voucher_id: uuid.UUID | None = None,
    person_id: uuid.UUID | None = None,
) -> None:
    """Take ``n`` meals from the pool, atomically, or raise ``error`` (caller rolls back)."""
    result = await session.execute(
        update(SuspendedMealPool)
        .where(SuspendedMealPool.structure_id == structure_id, SuspendedMealPool.balance >= n)
        .values(balance=SuspendedMealPool.balance - n, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise error()
    session.add(
        SuspendedMealEntry(
            structure_id=structure_id,
            kind=kind.value,
            delta=-n,
            order_id=order_id,
            voucher_id=voucher_id,
            person_id=person_id,
        )
    )


async def set_price(session: AsyncSession, user: User, slug: str, price_cents: int) -> int:
    """The price of one paid-forward meal in this structure (its manager)."""
    structure = await structure_for(session, user, slug, TARIFF_ROLES)
    await ensure_pool(session, structure.id)
    await session.execute(
        update(SuspendedMealPool)
        .where(SuspendedMealPool.structure_id == structure.id)
        .values(price_cents=price_cents, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return price_cents


@dataclass
class LedgerLine:
    entry: SuspendedMealEntry
    person_name: str | None
    voucher_label: str | None


@dataclass
class Ledger:
    balance: int
    price_cents: int | None
    credited: int
    debited: int
    lines: list[LedgerLine]
    staff_view: bool


async def ledger(
    session: AsyncSession, caller: User | None, slug: str, limit: int, offset: int
) -> Ledger:
    """The pool's balance and its movements. Names and voucher labels for staff only."""
    structure = await structure_by_slug(session, slug)
    staff_view = await has_role(session, caller, structure.id, SOCIAL_ROLES)
    pool = await session.scalar(
        select(SuspendedMealPool).where(SuspendedMealPool.structure_id == structure.id)
    )
    rows = await session.execute(
        select(SuspendedMealEntry, User.display_name, SuspendedMealVoucher.label)
        .outerjoin(User, User.id == SuspendedMealEntry.person_id)
        .outerjoin(SuspendedMealVoucher, SuspendedMealVoucher.id == SuspendedMealEntry.voucher_id)
        .where(SuspendedMealEntry.structure_id == structure.id)
        .order_by(SuspendedMealEntry.created_at.desc(), SuspendedMealEntry.id.desc())
        .limit(limit)
        .offset(offset)
    )
    lines = [
        LedgerLine(
            entry=e,
            person_name=name if staff_view else None,
            voucher_label=label if staff_view else None,
        )
        for e, name, label in rows.tuples()
    ]
    sums = await session.execute(
        select(
            func.coalesce(
                func.sum(case((SuspendedMealEntry.delta > 0, SuspendedMealEntry.delta))), 0
            ),
            func.coalesce(
                func.sum(case((SuspendedMealEntry.delta < 0, -SuspendedMealEntry.delta))), 0
            ),
        ).where(SuspendedMealEntry.structure_id == structure.id)
    )
    credited, debited = sums.one()
    return Ledger(
        balance=pool.balance if pool else 0,
        price_cents=pool.price_cents if pool else None,
        credited=int(credited),
        debited=int(debited),
        lines=lines,
        staff_view=staff_view,
    )


async def give_voucher(
    session: AsyncSession, user: User, slug: str, label: str, *, commit: bool = True
) -> tuple[SuspendedMealVoucher, str]:
    """Staff give one pooled meal: the pool is debited atomically, a single-use code returned.

    Only the code's SHA-256 is kept; the code itself is shown once, to print or write down.
    """
    structure = await structure_for(session, user, slug, SOCIAL_ROLES)
    code = rules.new_voucher_code()
    voucher = SuspendedMealVoucher(
        structure_id=structure.id,
        code_hash=rules.voucher_hash(code),
        code_hint=code[-4:],
        label=label,
        given_by_id=user.id,
    )
    session.add(voucher)
    try:
        await session.flush()
        await debit(
            session,
            structure.id,
            1,
            rules.LedgerKind.VOUCHER,
            voucher_id=voucher.id,
            person_id=user.id,
        )
    except DomainError:
        await session.rollback()
        raise
    await (session.commit() if commit else session.flush())
    return voucher, code


async def list_vouchers(session: AsyncSession, user: User, slug: str) -> list[SuspendedMealVoucher]:
    structure = await structure_for(session, user, slug, SOCIAL_ROLES)
    return list(
        await session.scalars(
            select(SuspendedMealVoucher)
            .where(SuspendedMealVoucher.structure_id == structure.id)
            .order_by(SuspendedMealVoucher.created_at.desc())
        )
    )


async def cancel_voucher(
    session: AsyncSession, user: User, slug: str, voucher_id: uuid.UUID
) -> SuspendedMealVoucher:
    """Take back an unused voucher (lost, never given): its meal returns to the pool."""
    structure = await structure_for(session, user, slug, SOCIAL_ROLES)
    voucher = await session.scalar(
        select(SuspendedMealVoucher).where(
            SuspendedMealVoucher.id == voucher_id,
            SuspendedMealVoucher.structure_id == structure.id,
        )
    )
    if voucher is None:
        raise NotFound()
    result = await session.execute(
        update(SuspendedMealVoucher)
        .where(
            SuspendedMealVoucher.id == voucher.id,
            SuspendedMealVoucher.used_at.is_(None),
            SuspendedMealVoucher.cancelled_at.is_(None),
        )
        .values(cancelled_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        await credit(
            session,
            structure.id,
            1,
            rules.LedgerKind.VOUCHER_CANCELLED,
            voucher_id=voucher.id,
            person_id=user.id,
        )
        await session.commit()
        await session.refresh(voucher)
        return voucher
    await session.refresh(voucher)
    if voucher.cancelled_at is None:
        raise VoucherUsed()
    return voucher
