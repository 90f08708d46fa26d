"""Request and response bodies. Inputs list only what a caller may set (no mass assignment)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from tierslieu.domain.quotas import (
    MAX_BOOKINGS_PER_MONTH,
    MAX_BOOKINGS_PER_WEEK,
    MAX_HOURS_PER_WEEK,
    MAX_UPCOMING,
)
from tierslieu.domain.vocabulary import (
    AssetKind,
    Audience,
    BookingMode,
    MemberRole,
    PersonKind,
    StructureKind,
)

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, examples=["sophie@exemple.fr"])]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
LongName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text = Annotated[str, msgspec.Meta(max_length=5000)]
Phone = Annotated[str, msgspec.Meta(max_length=30, pattern=r"^[0-9+() .-]*$")]
Slug = Annotated[
    str, msgspec.Meta(min_length=3, max_length=60, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
]
Postcode = Annotated[str, msgspec.Meta(max_length=10, pattern=r"^[0-9A-Za-z -]*$")]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]
TimeZone = Annotated[str, msgspec.Meta(min_length=1, max_length=64, examples=["Europe/Paris"])]
Capacity = Annotated[int, msgspec.Meta(ge=1, le=10_000)]


class Strict(msgspec.Struct, forbid_unknown_fields=True):
    """Unknown fields are refused: nobody can slip in ``role`` or ``is_admin``.

    Text may not contain NUL characters (PostgreSQL cannot store them).
    """

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            texts = value if isinstance(value, list) else [value]
            if any(isinstance(t, str) and "\x00" in t for t in texts):
                raise ValueError(f"Text contains a NUL character - at `$.{name}`")


# --- accounts ----------------------------------------------------------------------


class RegisterIn(Strict):
    email: Email
    password: Password
    display_name: Name
    kind: PersonKind
    phone: Phone | None = None
    locale: Annotated[str, msgspec.Meta(pattern=r"^(fr|en)$")] = "fr"


class LoginIn(Strict):
    email: Email
    password: Password


class RegistrationOut(msgspec.Struct):
    """The same answer whether or not the address already had an account."""

    status: str
    detail: str


class PasswordChangeIn(Strict):
    current_password: Password
    new_password: Password


class TokenOut(msgspec.Struct):
    token: str
    token_type: str
    expires_at: dt.datetime


class MembershipOut(msgspec.Struct):
    structure_slug: str
    structure_name: str
    role: MemberRole


class MeOut(msgspec.Struct):
    id: uuid.UUID
    email: str
    display_name: str
    kind: PersonKind
    phone: str | None
    locale: str
    is_admin: bool
    memberships: list[MembershipOut]
    # Reminders by e-mail before bookings and meal pickups (« Mon compte »).
    reminders: bool = True
    # When the address was confirmed with the link sent at registration (None: not yet).
    email_confirmed_at: dt.datetime | None = None
    # Whether the structures' staff may find this account by e-mail or phone to book for them.
    findable_by_staff: bool = False


class MeUpdateIn(Strict):
    """What a person may change about themselves here (omitted fields stay as they are)."""

    reminders: bool | None = None
    findable_by_staff: bool | None = None


# A link token as mailed (``secrets.token_urlsafe(32)``: 43 characters).
LinkToken = Annotated[str, msgspec.Meta(min_length=10, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]


class PasswordResetIn(Strict):
    email: Email


class PasswordResetConfirmIn(Strict):
    token: LinkToken
    password: Password


class EmailConfirmIn(Strict):
    token: LinkToken


# --- structures -------------------------------------------------------------------


class StructureIn(Strict):
    slug: Slug
    name: LongName
    kind: StructureKind
    commune: Name
    address: Annotated[str, msgspec.Meta(max_length=300)] = ""
    # For booking by phone: shown on the structure's and its places' pages.
    phone: Phone = ""
    postcode: Postcode = ""
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    timezone: TimeZone = "Europe/Paris"
    description: Text = ""
    closed_on_public_holidays: bool = True
    holiday_subdivision: Annotated[str, msgspec.Meta(max_length=10)] | None = None


class StructurePatch(Strict):
    name: LongName | msgspec.UnsetType = msgspec.UNSET
    kind: StructureKind | msgspec.UnsetType = msgspec.UNSET
    commune: Name | msgspec.UnsetType = msgspec.UNSET
    address: Annotated[str, msgspec.Meta(max_length=300)] | msgspec.UnsetType = msgspec.UNSET
    phone: Phone | msgspec.UnsetType = msgspec.UNSET
    postcode: Postcode | msgspec.UnsetType = msgspec.UNSET
    latitude: Latitude | msgspec.UnsetType | None = msgspec.UNSET
    longitude: Longitude | msgspec.UnsetType | None = msgspec.UNSET
    timezone: TimeZone | msgspec.UnsetType = msgspec.UNSET
    description: Text | msgspec.UnsetType = msgspec.UNSET
    closed_on_public_holidays: bool | msgspec.UnsetType = msgspec.UNSET
    holiday_subdivision: Annotated[str, msgspec.Meta(max_length=10)] | msgspec.UnsetType | None = (
        msgspec.UNSET
    )
    # Managers let territory coordinators see the structure's figures (never names).
    share_stats: bool | msgspec.UnsetType = msgspec.UNSET


class StructureOut(msgspec.Struct):
    id: uuid.UUID
    slug: str
    name: str
    kind: StructureKind
    address: str
    phone: str
    postcode: str
    commune: str
    latitude: float | None
    longitude: float | None
    timezone: str
    description: str
    closed_on_public_holidays: bool
    holiday_subdivision: str | None
    share_stats: bool = False


class MemberIn(Strict):
    email: Email
    role: MemberRole


class MemberOut(msgspec.Struct):
    user_id: uuid.UUID
    email: str
    display_name: str
    role: MemberRole


# --- assets -----------------------------------------------------------------------


class Accessibility(Strict):
    wheelchair: bool = False
    step_free: bool = False
    accessible_toilets: bool = False


class RulesIn(Strict):
    min_notice_minutes: Annotated[int, msgspec.Meta(ge=0, le=7 * 24 * 60)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    max_advance_days: Annotated[int, msgspec.Meta(ge=1, le=366)] | msgspec.UnsetType = msgspec.UNSET
    cancel_until_minutes: (
        Annotated[int, msgspec.Meta(ge=0, le=30 * 24 * 60)] | msgspec.UnsetType
    ) = msgspec.UNSET
    max_party_size: Annotated[int, msgspec.Meta(ge=1, le=500)] | msgspec.UnsetType = msgspec.UNSET
    requires_approval: bool | msgspec.UnsetType = msgspec.UNSET
    # Reminder this many hours before the start (moved out of the night); 0: none.
    reminder_hours: Annotated[int, msgspec.Meta(ge=0, le=168)] | msgspec.UnsetType = msgspec.UNSET
    # A waiting list on full shared slots, and its length per slot.
    waitlist: bool | msgspec.UnsetType = msgspec.UNSET
    waitlist_max_length: Annotated[int, msgspec.Meta(ge=1, le=500)] | msgspec.UnsetType = (
        msgspec.UNSET
    )


class RulesOut(msgspec.Struct):
    min_notice_minutes: int
    max_advance_days: int
    cancel_until_minutes: int
    max_party_size: int
    requires_approval: bool
    reminder_hours: int = 24
    waitlist: bool = False
    waitlist_max_length: int = 20


class Quotas(Strict):
    """Fair use per person on the asset; null: no limit. Sent whole: a limit left out is
    removed. Several accounts and contacts sharing an e-mail or phone are one person."""

    bookings_per_week: Annotated[int, msgspec.Meta(ge=1, le=MAX_BOOKINGS_PER_WEEK)] | None = None
    bookings_per_month: Annotated[int, msgspec.Meta(ge=1, le=MAX_BOOKINGS_PER_MONTH)] | None = None
    hours_per_week: Annotated[int, msgspec.Meta(ge=1, le=MAX_HOURS_PER_WEEK)] | None = None
    upcoming: Annotated[int, msgspec.Meta(ge=1, le=MAX_UPCOMING)] | None = None


AudienceList = Annotated[list[Audience], msgspec.Meta(min_length=1, max_length=4)]


class AssetIn(Strict):
    name: LongName
    kind: AssetKind
    capacity: Capacity
    audience: AudienceList
    booking_mode: BookingMode = BookingMode.SHARED
    description: Text = ""
    accessibility: Accessibility = msgspec.field(default_factory=Accessibility)
    rules: RulesIn = msgspec.field(default_factory=RulesIn)
    quotas: Quotas = msgspec.field(default_factory=Quotas)


class AccessibilityPatch(Strict):
    wheelchair: bool | msgspec.UnsetType = msgspec.UNSET
    step_free: bool | msgspec.UnsetType = msgspec.UNSET
    accessible_toilets: bool | msgspec.UnsetType = msgspec.UNSET


class AssetPatch(Strict):
    name: LongName | msgspec.UnsetType = msgspec.UNSET
    capacity: Capacity | msgspec.UnsetType = msgspec.UNSET
    audience: AudienceList | msgspec.UnsetType = msgspec.UNSET
    description: Text | msgspec.UnsetType = msgspec.UNSET
    accessibility: AccessibilityPatch | msgspec.UnsetType = msgspec.UNSET
    rules: RulesIn | msgspec.UnsetType = msgspec.UNSET
    quotas: Quotas | msgspec.UnsetType = msgspec.UNSET


class StructureRef(msgspec.Struct):
    slug: str
    name: str
    commune: str
    timezone: str


class AssetOut(msgspec.Struct):
    id: uuid.UUID
    structure: StructureRef
    name: str
    kind: AssetKind
    booking_mode: BookingMode
    capacity: int
    audience: list[Audience]
    description: str
    accessibility: Accessibility
    rules: RulesOut
    quotas: Quotas
    archived: bool


def given(struct: msgspec.Struct) -> dict[str, object]:
    """The fields a caller actually sent (UNSET ones dropped), nested structs included."""
    out: dict[str, object] = {}
    for name in struct.__struct_fields__:
        value = getattr(struct, name)
        if value is msgspec.UNSET:
            continue
        if isinstance(value, msgspec.Struct):
            value = given(value)
        elif isinstance(value, list):
            value = [str(v) if isinstance(v, str) else v for v in value]
        out[name] = (
            value.value if hasattr(value, "value") and not isinstance(value, dict) else value
        )
    return out
