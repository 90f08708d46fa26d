"""Test fixtures: a migrated database per test (SQLite by default, PostgreSQL when
TIERSLIEU_TEST_DATABASE_URL is set), the real app, and people with their roles."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import os
import shutil
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from sqlalchemy import delete, insert, select, text

from tierslieu.services import clock
from tierslieu.settings import Settings, normalise_database_url

if TYPE_CHECKING:
    from litestar.testing import TestClient
    from sqlalchemy.ext.asyncio import AsyncSession

# The app, the models and Litestar are imported where they are used, not here: tests/unit
# collects without loading them (about 2 s of imports saved on a unit-only run).

# Shared scenarios whose fixtures every test may use (``clock``, ``relais``).
pytest_plugins = ["tests.scenarios.relais", "tests.mailbox"]

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
        # No delivery loop racing the tests; tests/mailbox.py delivers when a test asks.
        "delivery_in_process": False,
    }
    values.update(overrides)
    return Settings(**values)


def run_db(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` with its own engine and session, outside the app (direct DB checks)."""

    from sqlalchemy.ext.asyncio import async_sessionmaker

    from tierslieu import db

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
    from tierslieu import db

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


class Suite:
    """What the whole session shares: the database every test uses (one SQLite path, or the
    PostgreSQL database), one app for it, and the seeded ``world`` templates.

    Each test still starts from a fresh copy of the migrated schema (SQLite: the template
    file copied over the session's path; PostgreSQL: every table truncated); a test that
    uses ``world`` starts from a copy of the world seeded once per clock instead.
    """

    def __init__(self, migrated: str, workdir: Path) -> None:
        self.migrated = migrated
        self.workdir = workdir
        if IS_POSTGRES:
            self.settings = make_settings(PG_URL)
        else:
            self.path = workdir / "tierslieu.db"
            self.settings = make_settings(f"sqlite:///{self.path}")
        self._app: Any = None
        # frozen instant (None: real time) -> (SQLite template file or PG rows, the World)
        self.worlds: dict[dt.datetime | None, tuple[Any, World]] = {}

    def app(self, settings: Settings) -> Any:
        """The session's app for the session's settings; any other settings get their own."""
        from tierslieu.app import create_app  # not at import: tests/unit never loads Litestar
        from tierslieu.services import listing_cache

        if settings != self.settings:
            return create_app(settings)
        if self._app is None:
            self._app = create_app(settings)
        # As a new app would: /health reports this test's loop lag only, cache as configured.
        self._app.state.loop_lag._samples.clear()
        listing_cache.configure(enabled=settings.listing_cache)
        return self._app

    # --- the database each test starts from ---------------------------------------

    def empty(self) -> None:
        if IS_POSTGRES:
            run_db(self.settings, _truncate_all)
        else:
            self._copy_file(Path(self.migrated), self.path)

    def seeded(self, key: dt.datetime | None) -> World:
        """The session database holds the world seeded under clock ``key``; its people."""
        if key not in self.worlds:
            self.worlds[key] = self._seed(key)
        stored, world = self.worlds[key]
        if IS_POSTGRES:
            run_db(self.settings, lambda session: _restore_rows(session, stored))
        else:
            self._copy_file(stored, self.path)
        return copy.deepcopy(world)

    def _seed(self, key: dt.datetime | None) -> tuple[Any, World]:
        from litestar.testing import TestClient

        self.empty()
        with TestClient(app=self.app(self.settings), raise_server_exceptions=False) as c:
            world = build_world(c, _create_admin(c, self.settings))
        if IS_POSTGRES:
            return run_db(self.settings, _read_rows), world
        target = self.workdir / f"world-{len(self.worlds)}.db"
        self._copy_file(self.path, target)
        return target, world

    @staticmethod
    def _copy_file(source: Path, target: Path) -> None:
        """Copy an SQLite database with its write-ahead log, if one is left."""
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        for suffix in ("", "-wal"):
            if Path(f"{source}{suffix}").exists():
                shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")


async def _truncate_all(session: AsyncSession) -> None:
    tables = ", ".join(f'"{t.name}"' for t in _tables())
    await session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await session.commit()


async def _read_rows(session: AsyncSession) -> list[tuple[Any, list[dict[str, Any]]]]:
    found = []
    for table in _tables():
        rows = (await session.execute(select(table))).mappings().all()
        found.append((table, [dict(r) for r in rows]))
    return found


async def _restore_rows(session: AsyncSession, rows: list[tuple[Any, list[dict]]]) -> None:
    """Truncate, then put the seeded rows back as they were, in one transaction with the
    triggers off (the schedule version keeps its seeded value instead of being bumped)."""
    await session.execute(text("SET LOCAL session_replication_role = replica"))
    tables = ", ".join(f'"{t.name}"' for t in _tables())
    await session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    for table, values in rows:
        if values:
            await session.execute(insert(table), values)
    await session.commit()


def _tables() -> list[Any]:
    from tierslieu.models import metadata

    return metadata.sorted_tables


def _frozen_at() -> dt.datetime | None:
    """The instant ``services.clock`` is frozen at (None: real time)."""
    return clock._frozen_at


@pytest.fixture(scope="session")
def suite(migrated_template: str, tmp_path_factory: pytest.TempPathFactory) -> Suite:
    return Suite(migrated_template, tmp_path_factory.mktemp("db"))


WORLD_SEEDED = pytest.StashKey[tuple[Any, "World"]]()


@pytest.fixture
def settings(suite: Suite, request: pytest.FixtureRequest) -> Settings:
    """The test's database: freshly migrated, or already holding ``world`` when the test
    uses it (seeded once per frozen clock and copied, instead of built over HTTP)."""
    _clear_process_caches()
    if "world" in request.fixturenames:
        key = _frozen_at()
        request.node.stash[WORLD_SEEDED] = (key, suite.seeded(key))
    else:
        suite.empty()
    return suite.settings


def _clear_process_caches() -> None:
    """Caches kept per process, keyed by ids that repeat from one seeded test to the next."""
    from tierslieu.services import feeds, listing_cache, schedule_cache

    schedule_cache.clear()
    listing_cache.configure(enabled=Settings.listing_cache)
    feeds.clear_cache()


@pytest.fixture
def client(suite: Suite, settings: Settings) -> Iterator[TestClient[Any]]:
    from litestar.testing import TestClient

    with TestClient(app=suite.app(settings), raise_server_exceptions=False) as test_client:
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


def _create_admin(client: TestClient[Any], settings: Settings) -> Person:
    from tierslieu.services.accounts import create_admin

    email = "admin@tierslieu.test"
    run_db(settings, lambda s: create_admin(s, settings, email=email, password=PASSWORD))
    token = login(client, email)
    me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()
    return Person(email=email, token=token, id=me["id"])


@pytest.fixture
def admin(client: TestClient[Any], settings: Settings, request: pytest.FixtureRequest) -> Person:
    """The platform admin (already in the database when the test's ``world`` was seeded)."""
    if WORLD_SEEDED in request.node.stash:
        return request.node.stash[WORLD_SEEDED][1].admin
    return _create_admin(client, settings)


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


def build_world(client: TestClient[Any], admin: Person) -> World:
    """Create the world through the API, as people would."""
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


@pytest.fixture
def world(
    client: TestClient[Any], admin: Person, settings: Settings, request: pytest.FixtureRequest
) -> World:
    """The world, as :func:`build_world` makes it under the test's clock. It is built once per
    session and clock and copied into each test's database (see ``settings``)."""
    found = request.node.stash.get(WORLD_SEEDED, None)
    if found is None:  # asked for with request.getfixturevalue: the database is empty
        return build_world(client, admin)
    key, seeded = found
    if key == _frozen_at():
        return seeded
    # The clock was frozen after the database was prepared: empty it and build it here.
    run_db(settings, _delete_all)
    fresh = _create_admin(client, settings)
    admin.token, admin.id = fresh.token, fresh.id
    return build_world(client, admin)


async def _delete_all(session: AsyncSession) -> None:
    for table in reversed(_tables()):
        await session.execute(delete(table))
    await session.commit()


def unique_email(prefix: str = "p") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@exemple.test"
