"""Demo data grounded in the brief. Loading it twice changes nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tierslieu.models import Asset, AvailabilityRule, Membership, Structure, User
from tierslieu.security import hash_password
from tierslieu.services.demo_canteen import load_canteen_demo
from tierslieu.services.demo_stats import load_stats_demo
from tierslieu.settings import Settings

DEMO_PASSWORD = "demo-tierslieu"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    display_name: str
    kind: str
    note: str
    is_admin: bool = False
    phone: str | None = None


ACCOUNTS = [
    DemoAccount(
        "admin@tierslieu.test",
        "Administration tierslieu",
        "professional",
        "administrateur de la plateforme",
        is_admin=True,
    ),
    DemoAccount(
        "sophie@les-tilleuls.test",
        "Sophie Bernard",
        "professional",
        "coordinatrice, responsable à l'EHPAD Les Tilleuls",
    ),
    DemoAccount(
        "lucas@les-tilleuls.test",
        "Lucas Moreau",
        "professional",
        "animateur, équipe de l'EHPAD Les Tilleuls",
    ),
    DemoAccount(
        "claire@le-relais.test", "Claire Petit", "professional", "responsable du CHRS Le Relais"
    ),
    DemoAccount(
        "nadia@le-relais.test",
        "Nadia Haddad",
        "professional",
        "travailleuse sociale, équipe du CHRS Le Relais",
    ),
    DemoAccount(
        "chef@le-relais.test", "Mamadou Diallo", "professional", "chef, cuisine du CHRS Le Relais"
    ),
    DemoAccount(
        "ines@cs-romainville.test",
        "Inès Lefèvre",
        "professional",
        "responsable du centre social de Romainville",
    ),
    DemoAccount(
        "jeanne.martin@exemple.test",
        "Jeanne Martin",
        "neighbour",
        "voisine de l'EHPAD",
        phone="01 48 00 00 01",
    ),
    DemoAccount("karim@exemple.test", "Karim Benali", "professional", "travaille à côté du CHRS"),
    DemoAccount(
        "mairie@romainville.test",
        "Mairie de Romainville",
        "professional",
        "coordinatrice du territoire (Romainville) : chiffres partagés, sans nom",
    ),
]

STRUCTURES: list[dict[str, Any]] = [
    {
        "slug": "ehpad-les-tilleuls",
        "name": "EHPAD Les Tilleuls",
        "kind": "ehpad",
        "address": "12 rue des Tilleuls",
        "phone": "01 48 00 00 01",
        "postcode": "93140",
        "commune": "Bondy",
        "latitude": 48.9022,
        "longitude": 2.4828,
        "description": "Maison de retraite qui ouvre son grand jardin aux habitants du quartier.",
    },
    {
        "slug": "chrs-le-relais",
        "name": "CHRS Le Relais",
        "kind": "chrs",
        "address": "5 avenue Gaston Roussel",
        "phone": "01 48 00 00 02",
        "postcode": "93230",
        "commune": "Romainville",
        "latitude": 48.8852,
        "longitude": 2.4353,
        "description": "Centre d'hébergement dont la cantine, tenue par des personnes en parcours "
        "d'insertion, accueille les professionnels du quartier le midi.",
    },
    {
        "slug": "centre-social-romainville",
        "name": "Centre social de Romainville",
        "kind": "centre_social",
        "address": "1 place de la Laïcité",
        "phone": "01 48 00 00 03",
        "postcode": "93230",
        "commune": "Romainville",
        "latitude": 48.8841,
        "longitude": 2.4377,
        "description": "Centre social qui prête salles et ateliers aux acteurs locaux "
        "pour les ateliers de l'Analyse des Besoins Sociaux.",
    },
]

MEMBERS = [
    ("ehpad-les-tilleuls", "sophie@les-tilleuls.test", "manager"),
    ("ehpad-les-tilleuls", "lucas@les-tilleuls.test", "staff"),
    ("chrs-le-relais", "claire@le-relais.test", "manager"),
    ("chrs-le-relais", "nadia@le-relais.test", "staff"),
    ("chrs-le-relais", "chef@le-relais.test", "kitchen"),
    ("centre-social-romainville", "ines@cs-romainville.test", "manager"),
]

ASSETS: list[dict[str, Any]] = [
    {
        "structure": "ehpad-les-tilleuls",
        "name": "Jardin partagé des Tilleuls",
        "kind": "garden",
        "booking_mode": "shared",
        "capacity": 8,
        "audience": ["neighbours", "residents"],
        "description": "Grand jardin arboré avec potager en bacs surélevés. Outils prêtés sur place.",
        "wheelchair": True,
        "step_free": True,
        "accessible_toilets": True,
        "min_notice_minutes": 60,
        "max_advance_days": 60,
        "cancel_until_minutes": 120,
        "max_party_size": 4,
        "requires_approval": False,
    },
    {
        "structure": "chrs-le-relais",
        "name": "Cantine du Relais",
        "kind": "canteen",
        "booking_mode": "shared",
        "capacity": 60,
        "audience": ["neighbours", "professionals", "residents"],
        "description": "Déjeuner cuisiné maison du lundi au vendredi, à manger sur place ou à emporter.",
        "wheelchair": True,
        "step_free": True,
        "accessible_toilets": False,
        "min_notice_minutes": 0,
        "max_advance_days": 14,
        "cancel_until_minutes": 0,
        "max_party_size": 1,
        "requires_approval": False,
    },
    {
        "structure": "centre-social-romainville",
        "name": "Salle de réunion Simone Veil",
        "kind": "room",
        "booking_mode": "exclusive",
        "capacity": 20,
        "audience": ["professionals", "public"],
        "description": "Salle de 40 m² avec vidéoprojecteur, pour les associations et les réunions de quartier.",
        "wheelchair": True,
        "step_free": True,
        "accessible_toilets": True,
        "min_notice_minutes": 24 * 60,
        "max_advance_days": 90,
        "cancel_until_minutes": 24 * 60,
        "max_party_size": 20,
        "requires_approval": True,
    },
    {
        "structure": "centre-social-romainville",
        "name": "Atelier bricolage",
        "kind": "workshop",
        "booking_mode": "shared",
        "capacity": 10,
        "audience": ["public"],
        "description": "Établis, outillage et machine à coudre, avec un bénévole référent.",
        "wheelchair": False,
        "step_free": True,
        "accessible_toilets": False,
        "min_notice_minutes": 120,
        "max_advance_days": 30,
        "cancel_until_minutes": 120,
        "max_party_size": 2,
        "requires_approval": False,
    },
]


async def load_demo(session: AsyncSession, settings: Settings) -> list[DemoAccount]:
    """Create what is missing of the demo; never duplicate nor overwrite existing rows."""
    users: dict[str, User] = {}
    # Hashed off the event loop before the first query: never inside the write transaction.
    password_hash = await hash_password(DEMO_PASSWORD, settings.password_hash_profile)
    for account in ACCOUNTS:
        user = await session.scalar(select(User).where(User.email == account.email))
        if user is None:
            user = User(
                email=account.email,
                password_hash=password_hash,
                display_name=account.display_name,
                kind=account.kind,
                phone=account.phone,
                is_admin=account.is_admin,
            )
            session.add(user)
        users[account.email] = user
    structures: dict[str, Structure] = {}
    for data in STRUCTURES:
        structure = await session.scalar(select(Structure).where(Structure.slug == data["slug"]))
        if structure is None:
            structure = Structure(timezone=settings.default_timezone, **data)
            session.add(structure)
        structures[data["slug"]] = structure
    await session.flush()
    for slug, email, role in MEMBERS:
        exists = await session.scalar(
            select(Membership.id).where(
                Membership.structure_id == structures[slug].id,
                Membership.user_id == users[email].id,
            )
        )
        if exists is None:
            session.add(
                Membership(structure_id=structures[slug].id, user_id=users[email].id, role=role)
            )
    for data in ASSETS:
        values = dict(data)
        structure = structures[values.pop("structure")]
        exists = await session.scalar(
            select(Asset.id).where(Asset.structure_id == structure.id, Asset.name == values["name"])
        )
        if exists is None:
            session.add(Asset(structure_id=structure.id, **values))
    await session.flush()
    await _load_opening_hours(session, structures)
    await session.commit()
    await load_canteen_demo(session, settings)
    await load_stats_demo(session)  # past bookings and lunches for the Bilan (issue 15)
    return ACCOUNTS


# Opening hours of the demo assets (local wall-clock time), added only to assets without rules.
OPENING_HOURS: dict[str, list[dict[str, Any]]] = {
    "Jardin partagé des Tilleuls": [
        {"weekdays": [2, 6], "start_time": dt.time(9), "end_time": dt.time(12), "slot_minutes": 60},
    ],
    "Salle de réunion Simone Veil": [
        {"weekdays": [1, 2, 3, 4, 5], "start_time": dt.time(9), "end_time": dt.time(18)},
    ],
    "Atelier bricolage": [
        {
            "weekdays": [3, 6],
            "start_time": dt.time(14),
            "end_time": dt.time(17),
            "slot_minutes": 90,
        },
    ],
}


async def _load_opening_hours(session: AsyncSession, structures: dict[str, Structure]) -> None:
    for asset in await session.scalars(
        select(Asset).where(Asset.structure_id.in_([s.id for s in structures.values()]))
    ):
        if asset.name not in OPENING_HOURS:
            continue
        has_rules = await session.scalar(
            select(AvailabilityRule.id).where(AvailabilityRule.asset_id == asset.id).limit(1)
        )
        if has_rules is None:
            for rule in OPENING_HOURS[asset.name]:
                session.add(
                    AvailabilityRule(asset_id=asset.id, valid_from=dt.date(2026, 1, 1), **rule)
                )
