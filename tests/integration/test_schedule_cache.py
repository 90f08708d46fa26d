"""The per-process cache of assets, rules and closures never serves what another process
changed: every listing and booking reads the database's schedule version with its data."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest
from litestar.testing import TestClient
from sqlalchemy import text

from tests.conftest import World, run_db
from tests.scenarios.garden import MARCH_15
from tierslieu.app import create_app
from tierslieu.services.clock import frozen

RULE = {
    "weekdays": [2, 6],
    "start_time": "09:00",
    "end_time": "12:00",
    "valid_from": "2027-04-01",
    "valid_until": "2027-10-31",
    "slot_minutes": 60,
}
WEEK = {"from": "2027-04-05", "to": "2027-04-11"}
TUESDAY_10 = {"starts_at": "2027-04-06T10:00:00+02:00", "ends_at": "2027-04-06T11:00:00+02:00"}


@pytest.fixture(autouse=True)
def now():
    with frozen(MARCH_15):
        yield


def _sql(settings, statement: str, **params) -> None:
    """Another process (a second worker, a script, psql) changes the database directly."""

    async def work(session):
        await session.execute(text(statement), params)
        await session.commit()

    run_db(settings, work)


def _id(settings, value: str):
    return uuid.UUID(value) if "postgresql" in settings.database_url else uuid.UUID(value).bytes


def test_rules_and_closures_changed_elsewhere_are_seen_at_once(settings, client, world: World):
    garden = world.garden["id"]
    assert (
        client.post(
            f"/api/assets/{garden}/availability", json=RULE, headers=world.staff_a.headers
        ).status_code
        == 201
    )
    # A second app on the same database, listing cache off: every answer is the database's.
    with TestClient(app=create_app(dataclasses.replace(settings, listing_cache=False))) as other:
        slots = other.get(f"/api/assets/{garden}/slots", params=WEEK).json()
        assert len(slots) == 6  # Tuesday and Saturday, 9-12, hourly

        # Closed behind this process's back (another worker, psql): seen by the next listing
        # and refused by the next booking.
        _sql(
            settings,
            "INSERT INTO closure (id, asset_id, starts_at, ends_at, reason, created_at, "
            "updated_at) VALUES (:id, :asset, :s, :e, 'travaux', :now, :now)",
            id=_id(settings, str(uuid.uuid4())),
            asset=_id(settings, garden),
            s=dt.datetime(2027, 4, 6, 7, 0, tzinfo=dt.UTC),
            e=dt.datetime(2027, 4, 6, 10, 0, tzinfo=dt.UTC),
            now=MARCH_15,
        )
        slots = other.get(f"/api/assets/{garden}/slots", params=WEEK).json()
        assert len(slots) == 3  # Tuesday closed
        refused = other.post(
            "/api/bookings",
            json={"asset_id": garden, **TUESDAY_10},
            headers=world.neighbour.headers,
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "asset-closed"

        # Every rule removed elsewhere: nothing offered, nothing bookable.
        _sql(
            settings,
            "DELETE FROM availability_rule WHERE asset_id = :asset",
            asset=_id(settings, garden),
        )
        assert other.get(f"/api/assets/{garden}/slots", params=WEEK).json() == []
        refused = other.post(
            "/api/bookings",
            json={
                "asset_id": garden,
                **TUESDAY_10,
                "starts_at": "2027-04-10T10:00:00+02:00",
                "ends_at": "2027-04-10T11:00:00+02:00",
            },
            headers=world.neighbour.headers,
        )
        assert refused.json()["code"] == "outside-opening-hours", refused.text


def test_a_role_granted_elsewhere_counts_at_once(settings, client, world: World):
    """Staff-only powers (booking for a guest) follow the membership table, not a cache."""
    garden = world.garden["id"]
    client.post(f"/api/assets/{garden}/availability", json=RULE, headers=world.staff_a.headers)
    guest = {"asset_id": garden, **TUESDAY_10, "guest": {"name": "Mme Durand"}}
    refused = client.post("/api/bookings", json=guest, headers=world.neighbour.headers)
    assert refused.status_code == 403, refused.text
    _sql(
        settings,
        "INSERT INTO membership (id, structure_id, user_id, role, created_at, updated_at) "
        "SELECT :id, structure_id, :user, 'staff', :now, :now FROM asset WHERE id = :asset",
        id=_id(settings, str(uuid.uuid4())),
        user=_id(settings, world.neighbour.id),
        asset=_id(settings, garden),
        now=MARCH_15,
    )
    accepted = client.post("/api/bookings", json=guest, headers=world.neighbour.headers)
    assert accepted.status_code == 201, accepted.text
