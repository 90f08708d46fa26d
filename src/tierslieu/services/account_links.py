"""Links sent by e-mail about the account itself: password reset, address confirmation,
and the one-click unsubscribe from reminders (issue 12).

Reset and confirmation links are single-use tokens (``AccountToken``): 256 random bits in
the link, only their SHA-256 in the database. A token is spent by one conditional UPDATE
(``used_at IS NULL AND expires_at > now``), so two concurrent uses of the same link: one
wins, the other is refused. The raw link travels in the outbox row's ``params`` until the
message is delivered (the row is rendered at delivery); the link dies with its hour.

Unsubscribe links carry no database row: an HMAC (``settings.secret_key``) of the person's
id and the purpose, compared in constant time.

What an unconfirmed address receives: everything. Confirming only proves that the person
owns the address (shown in « Mon compte », with « Renvoyer le lien »); refusing to send a
booking confirmation or a reminder to an unconfirmed address would punish people who
never open that first mail, and the address is already the person's sign-in name.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import uuid
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.domain.accounts import check_password
from tierslieu.domain.notifications import Kind, TokenPurpose
from tierslieu.errors import DomainError
from tierslieu.i18n import N_, Texts
from tierslieu.models import AccountToken, ApiToken, User
from tierslieu.security import hash_password, new_token, token_digest
from tierslieu.services import behalf, outbox
from tierslieu.services.accounts import check_email, count_client_attempt
from tierslieu.services.clock import utcnow
from tierslieu.settings import Settings

RESET_TTL = dt.timedelta(hours=1)
CONFIRM_TTL = dt.timedelta(days=7)
# At most this many reset (or confirmation) mails per account and hour: the always-202
# form cannot be used to flood someone's mailbox.
MAX_LINKS_PER_HOUR = 5
# Web paths of the links (pages in ``web/account.py``).
RESET_PATH = "/mot-de-passe/nouveau"
CONFIRM_PATH = "/confirmer-adresse"
UNSUBSCRIBE_PATH = "/desabonnement"


class InvalidLink(DomainError):
    code = "invalid-link"
    status = 400
    title = N_("Lien expiré ou déjà utilisé")
    detail = N_(
        "Ce lien n'est plus valable : il a déjà servi, ou il a expiré. Demandez-en un nouveau."
    )


class TooManyResetRequests(DomainError):
    code = "too-many-reset-requests"
    status = 429
    title = N_("Trop de demandes")
    detail = N_("Trop de demandes depuis cette adresse. Réessayez dans {minutes} minutes.")

    def __init__(self, retry_after_seconds: int = 60) -> None:
        super().__init__(
            {"minutes": max(1, round(retry_after_seconds / 60))},
            headers={"Retry-After": str(retry_after_seconds)},
        )

    @classmethod
    def describe(cls, _: Texts, params: dict[str, Any]) -> str:
        return _.ngettext(
            "Trop de demandes depuis cette adresse. Réessayez dans {n} minute.",
            "Trop de demandes depuis cette adresse. Réessayez dans {n} minutes.",
            int(params.get("minutes", 1)),
        )


def link(settings: Settings, path: str, token: str) -> str:
    return f"{settings.public_url}{path}/{token}"


async def _recent_links(
    session: AsyncSession, user_id: uuid.UUID, purpose: TokenPurpose, now: dt.datetime
) -> int:
    since = now - dt.timedelta(hours=1)
    count = await session.scalar(
        select(func.count()).where(
            AccountToken.user_id == user_id,
            AccountToken.purpose == purpose.value,
            AccountToken.created_at > since,
        )
    )
    return count or 0


def _new_link_token(
    session: AsyncSession, user_id: uuid.UUID, purpose: TokenPurpose, ttl: dt.timedelta
) -> str:
    token = new_token()
    session.add(
        AccountToken(
            user_id=user_id,
            purpose=purpose.value,
            token_hash=token_digest(token),
            expires_at=utcnow() + ttl,
        )
    )
    return token


async def _revoke(
    session: AsyncSession, user_id: uuid.UUID, now: dt.datetime, purpose: TokenPurpose | None
) -> None:
    """Unused links of the person stop working (all of them, or those of ``purpose``)."""
    where = [AccountToken.user_id == user_id, AccountToken.used_at.is_(None)]
    if purpose is not None:
        where.append(AccountToken.purpose == purpose.value)
    await session.execute(
        update(AccountToken)
        .where(*where)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )


# --- password reset ---------------------------------------------------------------------


async def request_password_reset(
    session: AsyncSession, settings: Settings, *, email: str, client: str
) -> None:
    """« Mot de passe oublié ? »: mail a single-use link valid one hour to ``email`` if it
    is an active account's; the caller answers 202 either way (same body, same work: a
    throttle row, one lookup, one commit), so the form reveals nobody.

    Throttled per client as registrations are (429); at most ``MAX_LINKS_PER_HOUR`` links
    per account and hour (more requests are silently ignored). A new link revokes the
    person's older unused reset links."""
    email = check_email(email)
    await session.commit()  # what the request's dependencies began
    await count_client_attempt(
        session, settings, f"password-reset:{client}", refuse=TooManyResetRequests
    )
    now = utcnow()
    user = await session.scalar(
        select(User).where(User.email == email, User.is_active.is_(True), User.erased_at.is_(None))
    )
    # An unknown address runs the same queries (on an id nobody has): similar timing.
    target = user.id if user is not None else uuid.UUID(int=0)
    recent = await _recent_links(session, target, TokenPurpose.PASSWORD_RESET, now)
    if user is None:
        await _revoke(session, target, now, TokenPurpose.PASSWORD_RESET)
    if user is None or recent >= MAX_LINKS_PER_HOUR:
        await session.commit()
        return
    await _revoke(session, user.id, now, TokenPurpose.PASSWORD_RESET)
    token = _new_link_token(session, user.id, TokenPurpose.PASSWORD_RESET, RESET_TTL)
    outbox.enqueue(
        session,
        Kind.PASSWORD_RESET,
        outbox.user_recipient(user),
        {
            "link": link(settings, RESET_PATH, token),
            "expires_at": outbox.instant(now + RESET_TTL),
            "name": user.display_name,
        },
        public_url=settings.public_url,
    )
    await session.commit()


async def _user_of_link(session: AsyncSession, token: str, purpose: TokenPurpose) -> User | None:
    """The active person a valid (unused, unexpired) link belongs to; nothing is spent."""
    return await session.scalar(
        select(User)
        .join(AccountToken, AccountToken.user_id == User.id)
        .where(
            AccountToken.token_hash == token_digest(token),
            AccountToken.purpose == purpose.value,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > utcnow(),
            User.is_active.is_(True),
            User.erased_at.is_(None),
        )
    )


async def reset_link_is_valid(session: AsyncSession, token: str) -> bool:
    valid = await _user_of_link(session, token, TokenPurpose.PASSWORD_RESET) is not None
    await session.commit()
    return valid


async def _spend(
    session: AsyncSession, token: str, purpose: TokenPurpose, now: dt.datetime
) -> uuid.UUID | None:
    """Spend a link: one conditional UPDATE, so of two concurrent uses exactly one wins."""
    row = (
        await session.execute(
            update(AccountToken)
            .where(
                AccountToken.token_hash == token_digest(token),
                AccountToken.purpose == purpose.value,
                AccountToken.used_at.is_(None),
                AccountToken.expires_at > now,
            )
            .values(used_at=now)
            .returning(AccountToken.user_id)
            .execution_options(synchronize_session=False)
        )
    ).first()
    return row[0] if row else None


async def reset_password(
    session: AsyncSession, settings: Settings, *, token: str, password: str
) -> None:
    """Set a new password with a reset link (400 ``invalid-link`` if spent, expired or
    unknown; 422 on ``password`` under the registration policy).

    The password is hashed in a thread with no transaction open; then, in one transaction,
    the link is spent (conditional UPDATE), the password replaced, every sign-in token and
    every other link of the person revoked, and a « password changed » notice queued."""
    user = await _user_of_link(session, token, TokenPurpose.PASSWORD_RESET)
    if user is None:
        await session.commit()
        raise InvalidLink()
    email, to = user.email, outbox.user_recipient(user)
    await session.commit()
    check_password(password, email=email)
    password_hash = await hash_password(password, settings.password_hash_profile)
    now = utcnow()
    user_id = await _spend(session, token, TokenPurpose.PASSWORD_RESET, now)
    if user_id is None:
        await session.rollback()
        raise InvalidLink()
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(password_hash=password_hash, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    await _revoke(session, user_id, now, None)
    enqueue_password_changed(session, settings, to, now)
    await session.commit()


def enqueue_password_changed(
    session: AsyncSession, settings: Settings, to: outbox.Recipient, now: dt.datetime
) -> None:
    """The « your password was changed » notice, in the caller's transaction."""
    outbox.enqueue(
        session,
        Kind.PASSWORD_CHANGED,
        to,
        {
            "changed_at": outbox.instant(now),
            "name": to.name or "",
            "reset_url": f"{settings.public_url}/mot-de-passe-oublie",
        },
        public_url=settings.public_url,
    )


# --- address confirmation ---------------------------------------------------------------


def enqueue_email_confirmation(session: AsyncSession, settings: Settings, user: User) -> bool:
    """A new confirmation link for ``user`` (already flushed), in the caller's transaction."""
    token = _new_link_token(session, user.id, TokenPurpose.EMAIL_CONFIRM, CONFIRM_TTL)
    row = outbox.enqueue(
        session,
        Kind.EMAIL_CONFIRM,
        outbox.user_recipient(user),
        {
            "link": link(settings, CONFIRM_PATH, token),
            "expires_at": outbox.instant(utcnow() + CONFIRM_TTL),
            "name": user.display_name,
        },
        public_url=settings.public_url,
    )
    return row is not None


async def resend_email_confirmation(session: AsyncSession, settings: Settings, user: User) -> bool:
    """« Renvoyer le lien » (signed in): a new link, older ones revoked. False when the
    address is already confirmed or too many links went out this hour (nothing sent)."""
    await session.commit()
    now = utcnow()
    fresh = await session.scalar(select(User).where(User.id == user.id))
    if (
        fresh is None
        or fresh.email_confirmed_at is not None
        or await _recent_links(session, fresh.id, TokenPurpose.EMAIL_CONFIRM, now)
        >= MAX_LINKS_PER_HOUR
    ):
        await session.commit()
        return False
    await _revoke(session, fresh.id, now, TokenPurpose.EMAIL_CONFIRM)
    sent = enqueue_email_confirmation(session, settings, fresh)
    await session.commit()
    return sent


async def confirm_email(session: AsyncSession, token: str) -> None:
    """Follow the confirmation link: the address is confirmed (400 ``invalid-link`` when
    the link was spent, expired or unknown), and the contacts staff keep with this address
    become the account's, with their bookings and orders (``behalf.link_contacts``)."""
    await session.commit()
    now = utcnow()
    user_id = await _spend(session, token, TokenPurpose.EMAIL_CONFIRM, now)
    if user_id is None:
        await session.rollback()
        raise InvalidLink()
    await session.execute(
        update(User)
        .where(User.id == user_id, User.email_confirmed_at.is_(None))
        .values(email_confirmed_at=now)
        .execution_options(synchronize_session=False)
    )
    # The structures' contacts with this address are this person: their bookings follow.
    email = await session.scalar(select(User.email).where(User.id == user_id))
    if email:
        await behalf.link_by_confirmed_email(session, user_id, email, now)
    await session.commit()


async def confirm_link_is_valid(session: AsyncSession, token: str) -> bool:
    valid = await _user_of_link(session, token, TokenPurpose.EMAIL_CONFIRM) is not None
    await session.commit()
    return valid


# --- reminders on or off, and the one-click unsubscribe -----------------------------------

UNSUBSCRIBE_PURPOSE = "reminders"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _mac(settings: Settings, user_id: uuid.UUID, purpose: str) -> str:
    message = f"tierslieu-unsubscribe:{purpose}:{user_id}".encode()
    return _b64(hmac.new(settings.secret_key.encode(), message, hashlib.sha256).digest())


def unsubscribe_token(settings: Settings, user_id: uuid.UUID | str) -> str:
    """``<id hex>.<HMAC>``: names the person and proves the link came from us."""
    uid = uuid.UUID(str(user_id))
    return f"{uid.hex}.{_mac(settings, uid, UNSUBSCRIBE_PURPOSE)}"


def unsubscribe_url(settings: Settings, user_id: uuid.UUID | str) -> str:
    return link(settings, UNSUBSCRIBE_PATH, unsubscribe_token(settings, user_id))


def user_of_unsubscribe_token(settings: Settings, token: str) -> uuid.UUID | None:
    """The person a genuine unsubscribe token names (constant-time check), else None."""
    if len(token) > 200 or token.count(".") != 1:
        return None
    hex_id, mac = token.split(".")
    try:
        uid = uuid.UUID(hex=hex_id)
    except ValueError:
        return None
    if uid.hex != hex_id:
        return None
    if not hmac.compare_digest(mac.encode(), _mac(settings, uid, UNSUBSCRIBE_PURPOSE).encode()):
        return None
    return uid


# A person's own on/off settings, changed by themselves (page, API, one-click link).
SWITCHES = frozenset({"reminders", "findable_by_staff"})


async def set_switches(session: AsyncSession, user_id: uuid.UUID, **values: bool) -> bool:
    """Turn ``reminders`` and/or ``findable_by_staff`` on or off, in one statement
    (idempotent). False if there is no such person."""
    if not values.keys() <= SWITCHES:
        raise ValueError(f"not a switch: {sorted(values.keys() - SWITCHES)}")
    if not values:
        return True
    result = await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def unsubscribe(session: AsyncSession, settings: Settings, token: str) -> None:
    """The one-click unsubscribe (RFC 8058): reminders off for the person the token names
    (404 for a token we did not sign). Idempotent."""
    from tierslieu.errors import NotFound

    user_id = user_of_unsubscribe_token(settings, token)
    if user_id is None or not await set_switches(session, user_id, reminders=False):
        raise NotFound()
