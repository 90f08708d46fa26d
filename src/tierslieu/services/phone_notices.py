"""« À prévenir par téléphone »: the outbox's phone notices of a structure, for its staff.

A person (or guest) with a phone and no e-mail is told by a call: ``outbox.enqueue`` makes
their notifications ``channel = phone`` rows of the structure. Staff (manager, staff; a
platform admin too) see the pending ones, oldest first, with the number and what to say
(the same text as the e-mail, ``services.mail.render``; the kind's label when no renderer
exists), and tick « Prévenu·e »: one conditional UPDATE records who called and when, so
two people ticking at once record one call.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu import i18n
from tierslieu.domain.notifications import Channel, Kind, OutboxStatus
from tierslieu.domain.vocabulary import ASSET_MANAGING_ROLES
from tierslieu.errors import DomainError, NotFound
from tierslieu.i18n import N_
from tierslieu.models import OutboxMessage, Structure, User
from tierslieu.services.access import has_role, structure_for
from tierslieu.services.clock import utcnow
from tierslieu.settings import Settings

logger = logging.getLogger("tierslieu")

CALL_ROLES = ASSET_MANAGING_ROLES
MAX_LISTED = 50

# What happened, when no renderer says it in full.
KIND_LABELS: dict[str, str] = {
    Kind.BOOKING_RECEIVED: N_("Réservation reçue, en attente de validation"),
    Kind.BOOKING_CONFIRMED: N_("Réservation confirmée"),
    Kind.BOOKING_APPROVED: N_("Réservation acceptée"),
    Kind.BOOKING_DECLINED: N_("Réservation refusée"),
    Kind.BOOKING_CANCELLED: N_("Réservation annulée"),
    Kind.BOOKING_CHANGED: N_("Réservation modifiée"),
    Kind.BOOKING_PROMOTED: N_("Une place s'est libérée : réservation confirmée"),
    Kind.BOOKING_REMINDER: N_("Rappel de réservation"),
    Kind.ORDER_CONFIRMED: N_("Commande de repas confirmée"),
    Kind.ORDER_CANCELLED: N_("Commande de repas annulée"),
    Kind.ORDER_READY: N_("Repas prêt"),
    Kind.ORDER_REMINDER: N_("Rappel de repas"),
    Kind.STAFF_DIGEST: N_("Nouvelles demandes à valider"),
    Kind.PASSWORD_RESET: N_("Nouveau mot de passe"),
    Kind.EMAIL_CONFIRM: N_("Confirmation d'adresse"),
    Kind.PASSWORD_CHANGED: N_("Mot de passe changé"),
}


class AlreadyCalled(DomainError):
    code = "already-called"
    status = 409
    title = N_("Déjà prévenu·e")
    detail = N_("Quelqu'un de l'équipe a déjà noté cet appel.")


@dataclass(frozen=True, slots=True)
class PhoneNotice:
    id: uuid.UUID
    kind: str
    label: str
    name: str | None
    phone: str
    created_at: dt.datetime
    say: str


def kind_label(kind: str, lang: str) -> str:
    return i18n.gettext(lang, KIND_LABELS.get(kind, kind))


def what_to_say(kind: str, params: Mapping[str, Any], settings: Settings, lang: str) -> str:
    """What the e-mail would have said, in the language of the staff member who reads it
    and makes the call (or the kind's label when it cannot be rendered)."""
    from tierslieu.services import mail

    try:
        return mail.render(kind, params, lang, settings).text
    except KeyError:
        return kind_label(kind, lang)
    except (ValueError, TypeError):  # a snapshot the renderer cannot read: say what it is
        logger.warning("phone notice of kind %s could not be rendered", kind)
        return kind_label(kind, lang)


async def pending_notices(
    session: AsyncSession,
    user: User,
    slug: str,
    settings: Settings,
    lang: str,
    *,
    limit: int = MAX_LISTED,
) -> tuple[Structure, list[PhoneNotice]]:
    """The structure's pending phone notices, oldest first (staff of the structure: 403
    otherwise). Rendering happens in a thread, after the read transaction ended."""
    structure = await structure_for(session, user, slug, CALL_ROLES)
    rows = (
        await session.execute(
            select(OutboxMessage)
            .where(
                OutboxMessage.structure_id == structure.id,
                OutboxMessage.channel == Channel.PHONE.value,
                OutboxMessage.status == OutboxStatus.PENDING.value,
                OutboxMessage.next_attempt_at <= utcnow(),
            )
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
            .limit(max(1, min(limit, MAX_LISTED)))
        )
    ).scalars()
    found = [(r.id, r.kind, r.name, r.phone or "", r.created_at, dict(r.params)) for r in rows]
    await session.commit()

    def _render() -> list[PhoneNotice]:
        return [
            PhoneNotice(
                id=rid,
                kind=kind,
                label=kind_label(kind, lang),
                name=name,
                phone=phone,
                created_at=created,
                say=what_to_say(kind, params, settings, lang),
            )
            for rid, kind, name, phone, created, params in found
        ]

    return structure, await anyio.to_thread.run_sync(_render)


async def mark_called(session: AsyncSession, user: User, notice_id: uuid.UUID) -> None:
    """« Prévenu·e »: record who called and when (409 if someone already did). A notice
    that is not a phone notice of a structure where the caller is staff is 404."""
    row = (
        await session.execute(
            select(OutboxMessage.structure_id, OutboxMessage.channel).where(
                OutboxMessage.id == notice_id
            )
        )
    ).first()
    if (
        row is None
        or row.channel != Channel.PHONE.value
        or row.structure_id is None
        or not await has_role(session, user, row.structure_id, CALL_ROLES)
    ):
        await session.rollback()
        raise NotFound()
    now = utcnow()
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == notice_id,
            OutboxMessage.channel == Channel.PHONE.value,
            OutboxMessage.status == OutboxStatus.PENDING.value,
        )
        .values(
            status=OutboxStatus.CALLED.value,
            called_by_id=user.id,
            called_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        raise AlreadyCalled()
    await session.commit()
