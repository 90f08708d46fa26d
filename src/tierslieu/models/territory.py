"""Territory coordinators: who sees the shared statistics of which communes."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tierslieu.models.base import Base


class TerritoryCoordinator(Base):
    """A person a platform admin named coordinator of one commune (stored lower-cased)."""

    __tablename__ = "territory_coordinator"
    __table_args__ = (UniqueConstraint("user_id", "commune"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    commune: Mapped[str] = mapped_column(String(120))
