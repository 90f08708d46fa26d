"""The words of the field, as closed sets of values (see the product brief)."""

from __future__ import annotations

from enum import StrEnum


class PersonKind(StrEnum):
    NEIGHBOUR = "neighbour"
    PROFESSIONAL = "professional"


class StructureKind(StrEnum):
    EHPAD = "ehpad"
    CHRS = "chrs"
    CENTRE_SOCIAL = "centre_social"
    ASSOCIATION = "association"
    MAIRIE = "mairie"
    OTHER = "other"


class MemberRole(StrEnum):
    MANAGER = "manager"
    STAFF = "staff"
    KITCHEN = "kitchen"


class AssetKind(StrEnum):
    GARDEN = "garden"
    CANTEEN = "canteen"
    ROOM = "room"
    WORKSHOP = "workshop"
    EQUIPMENT = "equipment"


class BookingMode(StrEnum):
    SHARED = "shared"
    EXCLUSIVE = "exclusive"


class Audience(StrEnum):
    RESIDENTS = "residents"
    NEIGHBOURS = "neighbours"
    PROFESSIONALS = "professionals"
    PUBLIC = "public"


# Roles that run the day-to-day of a structure's assets (availability, bookings).
ASSET_MANAGING_ROLES = frozenset({MemberRole.MANAGER, MemberRole.STAFF})


def sql_in(values: type[StrEnum]) -> str:
    """The SQL list of an enum's values, for CHECK constraints."""
    return ", ".join(f"'{member.value}'" for member in values)
