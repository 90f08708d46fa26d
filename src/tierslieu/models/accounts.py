"""People, their login tokens, failed login attempts and registrations (throttles)."""

from __future__ import annotations

import datetime as dt
import uuid

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tierslieu.domain.vocabulary import PersonKind, sql_in
from tierslieu.models.base import Base


class User(Base):
    __tablename__ = "user_account"
    __table_args__ = (CheckConstraint(f"kind IN ({sql_in(PersonKind)})", name="kind"),)

    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    phone: Mapped[str | None] = mapped_column(String(30), default=None)
    locale: Mapped[str] = mapped_column(String(5), default="fr")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Reminders by e-mail the day before (« Mon compte », or the one-click unsubscribe).
    reminders: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The person agreed that a structure's staff may find this account by its e-mail or
    # phone to book on their behalf (« Mon compte »; off until they say so).
    findable_by_staff: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Set when the person followed the link sent to the address at registration.
    email_confirmed_at: Mapped[dt.datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), default=None
    )
    # Set when the person deleted their account: the row stays as an anonymous
    # placeholder (no name, e-mail, phone or password) so statistics still group its bookings.
    erased_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", lazy="noload", cascade="all, delete-orphan"
    )


class ApiToken(Base):
    """A bearer token issued at login. Only its SHA-256 is stored."""

    __tablename__ = "api_token"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)


class LoginFailure(Base):
    """One failed login (or wrong current password), counted per (account, client) pair,
    per client and per account to throttle guessing. ``client`` is ``clients.client_key``."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_email_at", "email", "occurred_at"),
        Index("ix_login_failure_client_at", "client", "occurred_at"),
    )

    email: Mapped[str] = mapped_column(String(254))
    client: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))


class RegistrationAttempt(Base):
    """One registration that passed validation (it cost a password hash), counted per client
    to throttle mass registration. ``client`` is ``clients.client_key`` (a keyed hash)."""

    __tablename__ = "registration_attempt"
    __table_args__ = (Index("ix_registration_attempt_client_at", "client", "occurred_at"),)

    client: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))


from tierslieu.models.structures import Membership  # noqa: E402
