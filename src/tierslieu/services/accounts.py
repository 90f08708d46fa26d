"""Registration, sign-in with throttling, tokens, and the caller's profile."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidInput,
    TooManyAttempts,
)
from tierslieu.models import ApiToken, LoginFailure, Membership, Structure, User
from tierslieu.security import hash_password, new_token, token_digest, verify_password
from tierslieu.services.clock import utcnow
from tierslieu.settings import Settings

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
MIN_PASSWORD_LENGTH = 10


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_email(email: str, field: str = "email") -> str:
    email = normalise_email(email)
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise InvalidInput(field, "invalid-email")
    return email


async def register(
    session: AsyncSession,
    settings: Settings,
    *,
    email: str,
    password: str,
    display_name: str,
    kind: str,
    phone: str | None = None,
    locale: str = "fr",
) -> User:
    """Create a person's account. Never grants any role: those come from staff or the CLI."""
    email = check_email(email)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("password", "weak-password")
    user = User(
        email=email,
        password_hash=await hash_password(password, settings.password_hash_profile),
        display_name=display_name.strip(),
        kind=kind,
        phone=phone,
        locale=locale,
        is_admin=False,
    )
    session.add(user)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise EmailTaken() from None
    return user


async def create_admin(
    session: AsyncSession, settings: Settings, *, email: str, password: str
) -> User:
    """Create a platform admin, or promote and re-password an existing account."""
    email = check_email(email)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("password", "weak-password")
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


async def login(
    session: AsyncSession, settings: Settings, *, email: str, password: str, client: str
) -> IssuedToken:
    """Check credentials and issue a bearer token.

    Failed attempts are stored in the database (so every worker sees them) and
    counted per account and per client address over a sliding window; past the
    limit the answer is 429 with Retry-After, before any password check.
    """
    email = normalise_email(email)
    now = utcnow()
    window = dt.timedelta(minutes=settings.login_failure_window_minutes)
    since = now - window
    account_failures, client_failures = (
        await session.scalar(
            select(func.count()).where(
                LoginFailure.email == email, LoginFailure.occurred_at > since
            )
        ),
        await session.scalar(
            select(func.count()).where(
                LoginFailure.client == client, LoginFailure.occurred_at > since
            )
        ),
    )
    if (account_failures or 0) >= settings.login_max_failures_per_account or (
        client_failures or 0
    ) >= settings.login_max_failures_per_client:
        await session.rollback()
        raise TooManyAttempts(int(window.total_seconds()))

    user = await session.scalar(select(User).where(User.email == email, User.is_active.is_(True)))
    password_hash = user.password_hash if user else None
    # End the read transaction before the deliberately slow hash: no lock is held meanwhile.
    await session.commit()
    ok = await verify_password(password_hash, password, settings.password_hash_profile)
    if not ok or user is None:
        session.add(LoginFailure(email=email, client=client[:64], occurred_at=now))
        # Keep the table small: attempts older than the window no longer count.
        await session.execute(delete(LoginFailure).where(LoginFailure.occurred_at <= since))
        await session.commit()
        raise InvalidCredentials()

    token = new_token()
    expires_at = now + dt.timedelta(hours=settings.token_ttl_hours)
    session.add(ApiToken(user_id=user.id, token_hash=token_digest(token), expires_at=expires_at))
    await session.execute(delete(LoginFailure).where(LoginFailure.email == email))
    await session.commit()
    return IssuedToken(token=token, expires_at=expires_at)


async def logout(session: AsyncSession, token: str) -> None:
    """Revoke the token used for this request; it stops working at once."""
    await session.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == token_digest(token), ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    await session.commit()


async def user_for_token(session: AsyncSession, token: str) -> User | None:
    """The active person behind a bearer token that is neither revoked nor expired."""
    return await session.scalar(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == token_digest(token),
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > utcnow(),
            User.is_active.is_(True),
        )
    )


async def memberships_of(session: AsyncSession, user: User) -> list[tuple[Membership, Structure]]:
    rows = await session.execute(
        select(Membership, Structure)
        .join(Structure, Structure.id == Membership.structure_id)
        .where(Membership.user_id == user.id)
        .order_by(Structure.name)
    )
    return [(m, s) for m, s in rows.tuples()]
