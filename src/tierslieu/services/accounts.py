"""Registration, sign-in with throttling, password change, tokens, and the caller's profile.

Passwords are hashed and verified off the event loop (``security``) and never while this
module holds a transaction: every function commits or rolls back before the slow part.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from tierslieu.clients import client_key
from tierslieu.db import fetch_rows, only_small_statements, prepared, whole
from tierslieu.domain.accounts import check_password, clean_person_name
from tierslieu.errors import (
    DomainError,
    InvalidCredentials,
    InvalidInput,
    TooManyAttempts,
    TooManyRegistrations,
)
from tierslieu.models import (
    ApiToken,
    LoginFailure,
    Membership,
    RegistrationAttempt,
    Structure,
    User,
)
from tierslieu.security import hash_password, new_token, token_digest, verify_password
from tierslieu.services.clock import utcnow
from tierslieu.settings import Settings

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_email(email: str, field: str = "email") -> str:
    email = normalise_email(email)
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise InvalidInput(field, "invalid-email")
    return email


async def _end_transaction(session: AsyncSession) -> None:
    """End what the request's dependencies may have begun (reading the caller): no
    transaction, hence no SQLite write lock, is held during a password hash."""
    await session.commit()


async def _retry_after(
    session: AsyncSession, where: Any, window: dt.timedelta, now: dt.datetime, table: Any
) -> int:
    """Seconds until the oldest attempt counted by ``where`` leaves the window."""
    oldest = await session.scalar(select(func.min(table.occurred_at)).where(where))
    if oldest is None:
        return int(window.total_seconds())
    return max(1, math.ceil((oldest + window - now).total_seconds()))


async def _count_registration(session: AsyncSession, settings: Settings, client: str) -> None:
    await count_client_attempt(session, settings, client, refuse=TooManyRegistrations)


async def count_client_attempt(
    session: AsyncSession,
    settings: Settings,
    client: str,
    *,
    refuse: Callable[[int], DomainError] = TooManyRegistrations,
) -> None:
    """Record one attempt from ``client`` or refuse it (``refuse``, 429) past the per-client
    limit of registrations (also used, with its own client prefix, by password resets).

    Counted in the database so every worker sees it. On PostgreSQL an advisory lock per
    client makes count-then-insert exact under concurrency (SQLite: BEGIN IMMEDIATE)."""
    key = client_key(client, settings)
    now = utcnow()
    window = dt.timedelta(minutes=settings.register_window_minutes)
    since = now - window
    if not settings.is_sqlite:
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": int(key[:15], 16)})
    recent = RegistrationAttempt.client == key, RegistrationAttempt.occurred_at > since
    count = await session.scalar(select(func.count()).where(*recent))
    if (count or 0) >= settings.register_max_per_client:
        retry = await _retry_after(session, and_(*recent), window, now, RegistrationAttempt)
        await session.rollback()
        raise refuse(retry)
    session.add(RegistrationAttempt(client=key, occurred_at=now))
    await session.execute(
        delete(RegistrationAttempt).where(RegistrationAttempt.occurred_at <= since)
    )
    await session.commit()


async def register(
    session: AsyncSession,
    settings: Settings,
    *,
    email: str,
    password: str,
    display_name: str,
    kind: str,
    client: str,
    phone: str | None = None,
    locale: str = "fr",
) -> None:
    """Create a person's account. Never grants any role: those come from staff or the CLI.

    The outcome is deliberately not returned: for an address that already has an account
    nothing is created or changed, and the caller answers exactly as for a new one (same
    status, body and work: the password is hashed either way), so registration does not
    reveal who has an account. Registrations are throttled per client (429).
    """
    email = check_email(email)
    name = clean_person_name(display_name)
    check_password(password, email=email)
    await _end_transaction(session)
    await _count_registration(session, settings, client)
    password_hash = await hash_password(password, settings.password_hash_profile)
    exists = await session.scalar(select(User.id).where(User.email == email))
    if exists is not None:
        await session.rollback()
        return
    user = User(
        email=email,
        password_hash=password_hash,
        display_name=name,
        kind=kind,
        phone=phone,
        locale=locale,
        is_admin=False,
    )
    session.add(user)
    try:
        await session.flush()
        # The address confirmation link, in the account's own transaction.
        from tierslieu.services.account_links import enqueue_email_confirmation

        enqueue_email_confirmation(session, settings, user)
        await session.commit()
    except IntegrityError:
        # The same address registered concurrently: same silent outcome.
        await session.rollback()


async def create_admin(
    session: AsyncSession, settings: Settings, *, email: str, password: str
) -> User:
    """Create a platform admin, or promote and re-password an existing account."""
    email = check_email(email)
    check_password(password, email=email)
    await _end_transaction(session)
    password_hash = await hash_password(password, settings.password_hash_profile)
    user = await session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(
            email=email,
            password_hash=password_hash,
            display_name="Administrateur",
            kind="professional",
            is_admin=True,
        )
        session.add(user)
    else:
        user.is_admin = True
        user.password_hash = password_hash
    await session.commit()
    return user


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class _Guard:
    """What the login throttle decided before a password check."""

    key: str
    now: dt.datetime
    since: dt.datetime
    slow_down: bool


async def _guard_login(
    session: AsyncSession, settings: Settings, email: str, client: str
) -> _Guard:
    """Refuse (429) a client that failed too often on this account or on any account.

    Failures are counted per (account, client) pair for the per-account limit, so guesses
    from one client never lock the owner out from elsewhere; per client over all accounts;
    and per account over all clients, which only slows every attempt down a little."""
    key = client_key(client, settings)
    now = utcnow()
    window = dt.timedelta(minutes=settings.login_failure_window_minutes)
    since = now - window
    recent = LoginFailure.occurred_at > since
    pair = LoginFailure.email == email, LoginFailure.client == key, recent
    from_client = LoginFailure.client == key, recent
    pair_failures = await session.scalar(select(func.count()).where(*pair)) or 0
    client_failures = await session.scalar(select(func.count()).where(*from_client)) or 0
    for failures, limit, where in (
        (pair_failures, settings.login_max_failures_per_account, pair),
        (client_failures, settings.login_max_failures_per_client, from_client),
    ):
        if failures >= limit:
            retry = await _retry_after(session, and_(*where), window, now, LoginFailure)
            await session.rollback()
            raise TooManyAttempts(retry)
    account_failures = (
        await session.scalar(select(func.count()).where(LoginFailure.email == email, recent)) or 0
    )
    return _Guard(
        key=key,
        now=now,
        since=since,
        slow_down=account_failures >= settings.login_slowdown_after_failures,
    )


async def _record_failure(session: AsyncSession, email: str, guard: _Guard) -> None:
    session.add(LoginFailure(email=email, client=guard.key, occurred_at=guard.now))
    # Keep the table small: attempts older than the window no longer count.
    await session.execute(delete(LoginFailure).where(LoginFailure.occurred_at <= guard.since))
    await session.commit()


async def _slow_down(settings: Settings, guard: _Guard) -> None:
    if guard.slow_down and settings.login_slowdown_ms > 0:
        await asyncio.sleep(settings.login_slowdown_ms / 1000)


async def login(
    session: AsyncSession, settings: Settings, *, email: str, password: str, client: str
) -> IssuedToken:
    """Check credentials and issue a bearer token.

    Failed attempts are stored in the database (so every worker sees them). Past
    ``login_max_failures_per_account`` failures of one client on one account, or
    ``login_max_failures_per_client`` failures of one client overall, that client gets
    429 with Retry-After before any password check; other clients, the owner included,
    are not refused. An account that many clients failed on answers a little slower.
    """
    email = normalise_email(email)
    await _end_transaction(session)
    guard = await _guard_login(session, settings, email, client)
    user = await session.scalar(select(User).where(User.email == email, User.is_active.is_(True)))
    password_hash = user.password_hash if user else None
    # End the read transaction before the deliberately slow parts: no lock is held meanwhile.
    await session.commit()
    await _slow_down(settings, guard)
    ok = await verify_password(password_hash, password, settings.password_hash_profile)
    if not ok or user is None:
        await _record_failure(session, email, guard)
        raise InvalidCredentials()

    token = new_token()
    expires_at = guard.now + dt.timedelta(hours=settings.token_ttl_hours)
    session.add(ApiToken(user_id=user.id, token_hash=token_digest(token), expires_at=expires_at))
    # Only this client's failures are forgiven: others' guesses on the account still count.
    await session.execute(
        delete(LoginFailure).where(LoginFailure.email == email, LoginFailure.client == guard.key)
    )
    await session.commit()
    return IssuedToken(token=token, expires_at=expires_at)


async def confirm_password(
    session: AsyncSession, settings: Settings, user: User, password: str, *, client: str
) -> _Guard | None:
    """Check the caller's own password before a sensitive change (password change, account
    deletion), under the sign-in throttle of this client on this account (429 past the
    limit). None, recorded as a failed sign-in, when it is wrong. No transaction is open
    while the password is checked."""
    await _end_transaction(session)
    guard = await _guard_login(session, settings, user.email, client)
    password_hash = await session.scalar(
        select(User.password_hash).where(User.id == user.id, User.is_active.is_(True))
    )
    await session.commit()
    await _slow_down(settings, guard)
    if await verify_password(password_hash, password, settings.password_hash_profile):
        return guard
    await _record_failure(session, user.email, guard)
    return None


async def change_password(
    session: AsyncSession,
    settings: Settings,
    user: User,
    *,
    current_password: str,
    new_password: str,
    client: str,
    current_token: str | None,
) -> None:
    """Replace the caller's password after checking the current one.

    A wrong current password counts as a failed sign-in of this client on this account
    (same throttle, 429 past the limit) and is refused with 422 on ``current_password``.
    The new password follows the registration policy. Every other token of the person is
    revoked at once; the one used for this request keeps working.
    """
    check_password(new_password, field="new_password", email=user.email)
    guard = await confirm_password(session, settings, user, current_password, client=client)
    if guard is None:
        raise InvalidInput("current_password", "wrong-current-password")
    new_hash = await hash_password(new_password, settings.password_hash_profile)
    from tierslieu.services import outbox
    from tierslieu.services.account_links import enqueue_password_changed

    await session.execute(update(User).where(User.id == user.id).values(password_hash=new_hash))
    enqueue_password_changed(session, settings, outbox.user_recipient(user), guard.now)
    others = [ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)]
    if current_token:
        others.append(ApiToken.token_hash != token_digest(current_token))
    await session.execute(update(ApiToken).where(*others).values(revoked_at=guard.now))
    await session.commit()
    user.password_hash = new_hash


async def logout(session: AsyncSession, token: str) -> None:
    """Revoke the token used for this request; it stops working at once."""
    await session.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == token_digest(token), ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    await session.commit()


# Built once (every signed-in request runs it): only the digest and the time are bound.
_USER_FOR_TOKEN = (
    select(User)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(
        ApiToken.token_hash == bindparam("digest"),
        ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > bindparam("now", type_=ApiToken.expires_at.type),
        User.is_active.is_(True),
    )
)


@only_small_statements
async def user_for_token(session: AsyncSession, token: str) -> User | None:
    """The active person behind a bearer token that is neither revoked nor expired."""
    return await session.scalar(_USER_FOR_TOKEN, {"digest": token_digest(token), "now": utcnow()})


# The same person as plain columns.
_USER = whole(User)
_PERSON_FOR_TOKEN = _USER_FOR_TOKEN.with_only_columns(*_USER.columns)
_PERSON_FOR_TOKEN_FAST = prepared(_PERSON_FOR_TOKEN)  # asyncpg or sqlite3 itself


async def person_for_token(connection: AsyncConnection, token: str) -> User | None:
    """``user_for_token`` on a bare connection (no session): the person as a transient
    ``User`` (read only; never added to a session)."""
    values = {"digest": token_digest(token), "now": utcnow()}
    rows = await fetch_rows(connection, _PERSON_FOR_TOKEN_FAST, values)
    return _USER.of(rows[0]) if rows else None


async def memberships_of(session: AsyncSession, user: User) -> list[tuple[Membership, Structure]]:
    rows = await session.execute(
        select(Membership, Structure)
        .join(Structure, Structure.id == Membership.structure_id)
        .where(Membership.user_id == user.id)
        .order_by(Structure.name)
    )
    return [(m, s) for m, s in rows.tuples()]
