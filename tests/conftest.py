"""Test fixtures: a migrated database per test (SQLite by default, PostgreSQL when
TIERSLIEU_TEST_DATABASE_URL is set), the real app, and people with their roles."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from litestar.testing import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tierslieu import db
from tierslieu.app import create_app
from tierslieu.models import metadata
from tierslieu.services.accounts import create_admin
from tierslieu.settings import Settings, normalise_database_url

T = TypeVar("T")

PG_URL = os.environ.get("TIERSLIEU_TEST_DATABASE_URL", "").strip()
IS_POSTGRES = bool(PG_URL)
PASSWORD = "mot-de-passe-solide"


def pytest_report_header(config: pytest.Config) -> str:
    return f"tierslieu database: {'PostgreSQL ' + PG_URL if IS_POSTGRES else 'SQLite (temporary files)'}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if IS_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set TIERSLIEU_TEST_DATABASE_URL)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": normalise_database_url(database_url),
        "secret_key": "test-secret-key-not-for-production",
        "password_hash_profile": "fast",
        # Fixtures register many people from one test client; the throttle's own tests lower it.
        "register_max_per_client": 10_000,
    }
    values.update(overrides)
    return Settings(**values)


def run_db(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` with its own engine and session, outside the app (direct DB checks)."""

    async def _main() -> T:
        engine = db.create_engine(settings)
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(_main())


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Apply the migrations once; tests then get a copy (SQLite) or a truncated schema (PG)."""
    if IS_POSTGRES:
        settings = make_settings(PG_URL)

        async def _reset(session: AsyncSession) -> None:
            await session.execute(text("DROP SCHEMA public CASCADE"))
            await session.execute(text("CREATE SCHEMA public"))
            await session.commit()

        run_db(settings, _reset)
        db.upgrade(settings)
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "template.db"
    db.upgrade(make_settings(f"sqlite:///{path}"))
    return str(path)


@pytest.fixture
def settings(migrated_template: str, tmp_path: Path) -> Settings:
    if IS_POSTGRES:
        settings = make_settings(PG_URL)
        tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)

        async def _truncate(session: AsyncSession) -> None:
            await session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            await session.commit()

        run_db(settings, _truncate)
        return settings
    target = tmp_path / "tierslieu.db"
    shutil.copyfile(migrated_template, target)
    return make_settings(f"sqlite:///{target}")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient[Any]]:
    with TestClient(app=create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


# --- people ------------------------------------------------------------------------


@dataclass
class Person:
    email: str
    token: str
    id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def login(client: TestClient[Any], email: str, password: str = PASSWORD) -> str:
    response = client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["token"]


def register(
    client: TestClient[Any],
    email: str,
    kind: str = "neighbour",
    name: str | None = None,
    **extra: Any,
) -> Person:
    body = {
        "email": email,
        "password": PASSWORD,
        "display_name": name or email.split("@")[0],
        "kind": kind,
        **extra,
    }
    response = client.post("/api/auth/register", json=body)
    assert response.status_code == 202, response.text
    token = login(client, email)
    me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    return Person(email=email, token=token, id=me.json()["id"])


@pytest.fixture
def admin(client: TestClient[Any], settings: Settings) -> Person:
    email = "admin@tierslieu.test"
    run_db(settings, lambda s: create_admin(s, settings, email=email, password=PASSWORD))
    token = login(client, email)
    me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()
    return Person(email=email, token=token, id=me["id"])


STRUCTURE_A = {
    "slug": "ehpad-les-tilleuls",
    "name": "EHPAD Les Tilleuls",
    "kind": "ehpad",
    "address": "12 rue des Tilleuls",
    "postcode": "93140",
    "commune": "Bondy",
    "latitude": 48.9022,
    "longitude": 2.4828,
    "timezone": "Europe/Paris",
    "description": "Jardin ouvert au quartier",
}
STRUCTURE_B = {
    "slug": "chrs-le-relais",
    "name": "CHRS Le Relais",
    "kind": "chrs",
    "address": "5 avenue Gaston Roussel",
    "postcode": "93230",
    "commune": "Romainville",
    "timezone": "Europe/Paris",
}
GARDEN = {
    "name": "Jardin des Tilleuls",
    "kind": "garden",
    "booking_mode": "shared",
    "capacity": 8,
    "audience": ["neighbours", "residents"],
    "description": "Potager en bacs surélevés",
    "accessibility": {"wheelchair": True, "step_free": True, "accessible_toilets": True},
}


@dataclass
class World:
    """Two structures, each with its manager, staff and kitchen; a neighbour; a professional."""

    admin: Person
    manager_a: Person
    staff_a: Person
    kitchen_a: Person
    manager_b: Person
    staff_b: Person
    neighbour: Person
    professional: Person
    garden: dict[str, Any]


def add_member(client: TestClient[Any], by: Person, slug: str, person: Person, role: str) -> None:
    response = client.put(
        f"/api/structures/{slug}/members",
        json={"email": person.email, "role": role},
        headers=by.headers,
    )
    assert response.status_code in (200, 201), response.text


@pytest.fixture
def world(client: TestClient[Any], admin: Person) -> World:
    for structure in (STRUCTURE_A, STRUCTURE_B):
        response = client.post("/api/structures", json=structure, headers=admin.headers)
        assert response.status_code == 201, response.text
    people = {
        "manager_a": register(client, "sophie@les-tilleuls.test", "professional", "Sophie Bernard"),
        "staff_a": register(client, "lucas@les-tilleuls.test", "professional", "Lucas Moreau"),
        "kitchen_a": register(client, "cuisine@les-tilleuls.test", "professional", "Cuisine"),
        "manager_b": register(client, "claire@le-relais.test", "professional", "Claire Petit"),
        "staff_b": register(client, "nadia@le-relais.test", "professional", "Nadia Haddad"),
        "neighbour": register(client, "jeanne.martin@exemple.test", "neighbour", "Jeanne Martin"),
        "professional": register(client, "karim@exemple.test", "professional", "Karim Benali"),
    }
    add_member(client, admin, STRUCTURE_A["slug"], people["manager_a"], "manager")
    add_member(client, people["manager_a"], STRUCTURE_A["slug"], people["staff_a"], "staff")
    add_member(client, people["manager_a"], STRUCTURE_A["slug"], people["kitchen_a"], "kitchen")
    add_member(client, admin, STRUCTURE_B["slug"], people["manager_b"], "manager")
    add_member(client, people["manager_b"], STRUCTURE_B["slug"], people["staff_b"], "staff")
    response = client.post(
        f"/api/structures/{STRUCTURE_A['slug']}/assets",
        json=GARDEN,
        headers=people["staff_a"].headers,
    )
    assert response.status_code == 201, response.text
    return World(admin=admin, garden=response.json(), **people)


def unique_email(prefix: str = "p") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@exemple.test"
