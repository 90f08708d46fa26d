"""Personal data (RGPD): export, deleting one's account, staff erasing a guest, retention."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace

import icalendar
import pytest
from sqlalchemy import func, select

from tests.conftest import PASSWORD, Person, add_member, login, register, run_db
from tests.scenarios.garden import GARDEN_RULE, MARCH_15, open_garden
from tierslieu.models import Booking, IdempotencyKey, LoginFailure, User
from tierslieu.services import personal_data
from tierslieu.services.clock import frozen, travel_to

TUESDAY_10 = ("2027-04-06T10:00:00+02:00", "2027-04-06T11:00:00+02:00")
SATURDAY_10 = ("2027-04-10T10:00:00+02:00", "2027-04-10T11:00:00+02:00")
ODETTE = {"name": "Odette Lemaire", "phone": "06 12 34 56 78", "email": "odette@exemple.test"}


@pytest.fixture(autouse=True)
def now():
    with frozen(MARCH_15):
        yield
    travel_to(None)


@pytest.fixture
def garden(client, world, now):
    return open_garden(client, world)


def book(client, person, asset_id, when=TUESDAY_10, party_size=1, **extra):
    response = client.post(
        "/api/bookings",
        json={
            "asset_id": asset_id,
            "starts_at": when[0],
            "ends_at": when[1],
            "party_size": party_size,
            **extra,
        },
        headers=person.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


def remaining(client, asset_id, day="2027-04-10"):
    slots = client.get(f"/api/assets/{asset_id}/slots", params={"from": day, "to": day}).json()
    return {s["starts_at"][11:16]: s["remaining"] for s in slots}


def feed_path(client, person):
    response = client.post("/api/me/feed-token", headers=person.headers)
    assert response.status_code == 201, response.text
    return "/" + response.json()["https"].split("/", 3)[3], response.json()["https"]


def delete_me(client, person, password=PASSWORD, lang="fr"):
    return client.request(
        "DELETE",
        "/api/me",
        json={"password": password},
        headers={**person.headers, "Accept-Language": lang},
    )


# --- export ----------------------------------------------------------------------------------


def test_export_holds_what_we_keep_and_never_a_secret(client, world, garden):
    jeanne = world.neighbour
    booking = book(client, jeanne, garden["id"], party_size=2, note="Avec mon petit-fils")
    path, _ = feed_path(client, jeanne)
    bad = client.post("/api/auth/login", json={"email": jeanne.email, "password": "pas-le-bon"})
    assert bad.status_code == 401

    assert client.get("/api/me/export").status_code == 401
    response = client.get("/api/me/export", headers=jeanne.headers)
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    data = response.json()
    assert data["account"]["email"] == jeanne.email
    assert data["account"]["display_name"] == "Jeanne Martin"
    [exported] = data["bookings"]
    assert exported["id"] == booking["id"] and exported["party_size"] == 2
    assert exported["note"] == "Avec mon petit-fils"
    assert exported["calendar_uid"] == f"booking-{booking['id']}@tierslieu"
    assert [f["scope"] for f in data["calendar_feeds"]] == ["me"]
    assert len(data["sessions"]) == 1
    assert len(data["recent_failed_logins"]) == 1
    body = response.text
    secret = path.rsplit("/", 1)[1].removesuffix(".ics")
    assert secret not in body and jeanne.token not in body
    assert "password" not in body and "hash" not in body

    # The .ics export has the same events (same UIDs) as the private feed.
    ics = client.get("/api/me/export.ics", headers=jeanne.headers)
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    exported_uids = {
        str(e["UID"]) for e in icalendar.Calendar.from_ical(ics.content).walk("VEVENT")
    }
    feed = client.get(path)
    feed_uids = {str(e["UID"]) for e in icalendar.Calendar.from_ical(feed.content).walk("VEVENT")}
    assert exported_uids == feed_uids == {exported["calendar_uid"]}

    # Someone else's export does not contain Jeanne's booking.
    other = client.get("/api/me/export", headers=world.professional.headers).json()
    assert other["bookings"] == [] and "Jeanne" not in str(other)


def test_export_is_documented_in_openapi(client):
    schema = client.get("/schema/openapi.json").json()
    assert "get" in schema["paths"]["/api/me/export"]
    assert "delete" in schema["paths"]["/api/me"]
    assert "PersonalDataOut" in str(schema["components"]["schemas"])


# --- deleting an account -----------------------------------------------------------------------


def test_deleting_an_account_erases_the_person_keeps_anonymous_history(client, world, garden):
    jeanne = world.neighbour
    past = book(client, jeanne, garden["id"], TUESDAY_10, party_size=1)
    travel_to(dt.datetime(2027, 4, 7, 8, 0, tzinfo=dt.UTC))  # the Tuesday is now past
    upcoming = book(client, jeanne, garden["id"], SATURDAY_10, party_size=3)
    path, _ = feed_path(client, jeanne)
    assert client.get(path).status_code == 200
    assert remaining(client, garden["id"])["10:00"] == 5

    wrong = delete_me(client, jeanne, "pas-le-bon")
    assert wrong.status_code == 403
    assert wrong.json()["code"] == "password-not-confirmed"
    assert client.get("/api/me", headers=jeanne.headers).status_code == 200  # nothing changed
    assert client.get(path).status_code == 200

    done = delete_me(client, jeanne)
    assert done.status_code == 200, done.text
    assert done.json()["bookings_cancelled"] == 1 and done.json()["bookings_anonymised"] == 2
    # Tokens and feed links stop at once.
    assert client.get("/api/me", headers=jeanne.headers).status_code == 401
    assert client.get(path).status_code == 404
    login = client.post("/api/auth/login", json={"email": jeanne.email, "password": PASSWORD})
    assert login.status_code == 401
    # The upcoming booking is cancelled and its 3 places are free again.
    assert remaining(client, garden["id"])["10:00"] == 8
    # Staff still see both bookings, without the person.
    listing = client.get(
        "/api/structures/ehpad-les-tilleuls/bookings",
        params={"from": "2027-04-01", "to": "2027-04-30"},
        headers=world.staff_a.headers,
    ).json()
    by_id = {b["id"]: b for b in listing}
    assert by_id[past["id"]]["status"] == "confirmed"
    assert by_id[upcoming["id"]]["status"] == "cancelled"
    assert "Jeanne" not in str(listing) and jeanne.email not in str(listing)

    def check(session):
        async def _check():
            user = await session.get(User, uuid.UUID(jeanne.id))
            grouped = await session.scalar(
                select(func.count(func.distinct(Booking.user_id))).where(
                    Booking.id.in_([uuid.UUID(past["id"])])
                )
            )
            return user, grouped

        return _check()

    user, grouped = run_db(world_settings(client), check)
    assert user.erased_at is not None and not user.is_active
    assert (user.display_name, user.phone) == ("Compte supprimé", None)
    assert "jeanne" not in user.email
    assert grouped == 1  # the past booking still belongs to one (anonymous) person
    # The address is free again.
    register(client, jeanne.email, "neighbour", "Jeanne Martin")


def world_settings(client):
    return client.app.state.settings


def test_the_last_admin_and_the_last_manager_are_told_what_to_do(client, world):
    refused = delete_me(client, world.admin)
    assert refused.status_code == 409 and refused.json()["code"] == "last-admin"
    assert "create-admin" in refused.json()["detail"]

    refused = delete_me(client, world.manager_a, lang="en")
    assert refused.status_code == 409 and refused.json()["code"] == "last-manager-of"
    assert "EHPAD Les Tilleuls" in refused.json()["detail"]
    assert client.get("/api/me", headers=world.manager_a.headers).status_code == 200

    add_member(client, world.admin, "ehpad-les-tilleuls", world.staff_a, "manager")
    assert delete_me(client, world.manager_a).status_code == 200
    assert client.get("/api/me", headers=world.manager_a.headers).status_code == 401
    members = client.get(
        "/api/structures/ehpad-les-tilleuls/members", headers=world.staff_a.headers
    ).json()
    assert world.manager_a.email not in str(members)


def test_deleting_needs_the_password_field_and_a_signed_in_caller(client, world):
    anonymous = client.request("DELETE", "/api/me", json={"password": PASSWORD})
    assert anonymous.status_code == 401
    empty = client.request("DELETE", "/api/me", json={}, headers=world.neighbour.headers)
    assert empty.status_code == 422
    assert client.get("/api/me", headers=world.neighbour.headers).status_code == 200


# --- staff erasing a guest -----------------------------------------------------------------------


def test_staff_erase_a_guest_who_becomes_one_anonymous_person(client, world, garden):
    staff = world.staff_a
    first = book(client, staff, garden["id"], TUESDAY_10, guest=ODETTE, note="Vient en fauteuil")
    other = book(client, staff, garden["id"], TUESDAY_10, guest={"name": "Paul Durand"})
    travel_to(dt.datetime(2027, 4, 7, 8, 0, tzinfo=dt.UTC))
    later = book(
        client, staff, garden["id"], SATURDAY_10, party_size=2, guest={"name": " odette LEMAIRE"}
    )
    account = book(client, world.neighbour, garden["id"], SATURDAY_10)

    assert (
        client.post(
            f"/api/bookings/{first['id']}/erase-guest", headers=world.staff_b.headers
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/bookings/{first['id']}/erase-guest", headers=world.neighbour.headers
        ).status_code
        == 404
    )
    refused = client.post(f"/api/bookings/{account['id']}/erase-guest", headers=staff.headers)
    assert refused.status_code == 409 and refused.json()["code"] == "not-a-guest"

    done = client.post(f"/api/bookings/{first['id']}/erase-guest", headers=staff.headers)
    assert done.status_code == 200, done.text
    assert done.json() == {
        "bookings_cancelled": 1,
        "orders_cancelled": 0,
        "bookings_anonymised": 2,
        "orders_anonymised": 0,
    }
    assert remaining(client, garden["id"])["10:00"] == 7  # only Jeanne's place is taken
    listing = client.get(
        "/api/structures/ehpad-les-tilleuls/bookings",
        params={"from": "2027-04-01", "to": "2027-04-30"},
        headers=staff.headers,
    ).json()
    by_id = {b["id"]: b for b in listing}
    text = str(listing)
    assert "Odette" not in text and "odette" not in text.lower() and "06 12 34" not in text
    assert "fauteuil" not in text
    label = by_id[first["id"]]["person"]["name"]
    assert label.startswith("anonyme-") and by_id[later["id"]]["person"]["name"] == label
    assert by_id[other["id"]]["person"]["name"] == "Paul Durand"  # another guest is untouched
    # Erasing again changes nothing.
    again = client.post(f"/api/bookings/{first['id']}/erase-guest", headers=staff.headers)
    assert again.status_code == 200 and again.json()["bookings_anonymised"] == 0


# --- retention -------------------------------------------------------------------------------------


def test_retention_purge_erases_exactly_what_is_due(client, world, garden, settings):
    staff = world.staff_a
    old = book(client, staff, garden["id"], TUESDAY_10, guest=ODETTE)
    old_paul = book(client, staff, garden["id"], TUESDAY_10, guest={"name": "Paul Durand"})
    mine = book(client, world.neighbour, garden["id"], TUESDAY_10)
    # A year later Paul books again; Odette does not.
    travel_to(dt.datetime(2028, 4, 1, 8, 0, tzinfo=dt.UTC))
    staff = Person(staff.email, login(client, staff.email), staff.id)  # a year: new token
    client.post(
        f"/api/assets/{garden['id']}/availability",
        json={**GARDEN_RULE, "valid_from": "2028-04-01", "valid_until": "2028-10-31"},
        headers=staff.headers,
    )
    paul_again = book(
        client,
        staff,
        garden["id"],
        ("2028-04-04T10:00:00+02:00", "2028-04-04T11:00:00+02:00"),
        guest={"name": "Paul Durand", "phone": "07 00 00 00 00"},
    )
    client.post("/api/auth/login", json={"email": "y@exemple.test", "password": "mauvais-mdp"})

    # 6 April 2028 at 08:00 UTC: Odette's only booking (6 April 2027, 08:00 UTC) is 366 days old.
    travel_to(dt.datetime(2028, 4, 6, 8, 0, 1, tzinfo=dt.UTC))
    report = run_db(settings, lambda s: personal_data.purge(s, settings))
    assert (report.guests, report.guest_bookings, report.guest_orders) == (1, 1, 0)
    assert report.login_failures == 1  # five days old: beyond twice the 15-minute window

    rows = run_db(settings, _bookings)
    assert rows[old["id"]][0].startswith("anonyme-") and rows[old["id"]][1:] == (None, None)
    assert rows[old_paul["id"]][0] == "Paul Durand"  # Paul's last booking is recent
    assert rows[paul_again["id"]][:2] == ("Paul Durand", "07 00 00 00 00")
    assert rows[mine["id"]][0] is None  # an account's booking: not a guest
    # Idempotent: a second run erases nothing more.
    again = run_db(settings, lambda s: personal_data.purge(s, settings))
    assert (again.guests, again.login_failures) == (0, 0)


def test_purge_keeps_recent_login_failures_and_live_idempotency_keys(
    client, world, garden, settings
):
    client.post("/api/auth/login", json={"email": "x@exemple.test", "password": "mauvais-mdp"})
    response = client.post(
        "/api/bookings",
        json={"asset_id": garden["id"], "starts_at": TUESDAY_10[0], "ends_at": TUESDAY_10[1]},
        headers={**world.neighbour.headers, "Idempotency-Key": "k-1"},
    )
    assert response.status_code == 201
    travel_to(MARCH_15 + dt.timedelta(minutes=29))
    report = run_db(settings, lambda s: personal_data.purge(s, settings))
    assert (report.login_failures, report.idempotency_keys) == (0, 0)
    assert run_db(settings, _count_failures_and_keys) == (1, 1)
    travel_to(MARCH_15 + dt.timedelta(hours=24, minutes=1))
    report = run_db(settings, lambda s: personal_data.purge(s, settings))
    assert (report.login_failures, report.idempotency_keys) == (1, 1)
    assert run_db(settings, _count_failures_and_keys) == (0, 0)


async def _bookings(session):
    rows = await session.execute(
        select(Booking.id, Booking.guest_name, Booking.guest_phone, Booking.guest_email)
    )
    return {str(i): (n, p, e) for i, n, p, e in rows.tuples()}


async def _count_failures_and_keys(session):
    return (
        await session.scalar(select(func.count(LoginFailure.id))),
        await session.scalar(select(func.count(IdempotencyKey.id))),
    )


def test_cli_purge_prints_what_it_removed_in_french(settings, capsys, monkeypatch):
    from tierslieu import cli

    monkeypatch.setenv("TIERSLIEU_DATABASE_URL", settings.database_url)
    assert cli.main(["purge"]) == 0
    out = capsys.readouterr().out
    assert "Personnes invitées anonymisées : 0" in out
    assert "Échecs de connexion effacés" in out


# --- meal orders -----------------------------------------------------------------------------------


def test_meal_orders_deleted_account_and_erased_guest(client, world):
    from tests.scenarios.relais import MONDAY_MORNING, setup_relais_canteen

    travel_to(MONDAY_MORNING)
    karim = Person(
        world.professional.email, login(client, world.professional.email), world.professional.id
    )
    staff = Person(world.staff_b.email, login(client, world.staff_b.email), world.staff_b.id)
    chef, _asset, service = setup_relais_canteen(client, world)
    curry = next(i for i in service["items"] if i["name"].startswith("Curry"))
    window = service["pickup_windows"][1]

    def order(person, **extra):
        response = client.post(
            "/api/meal-orders",
            json={
                "service_id": service["id"],
                "lines": [{"item_id": curry["id"], "quantity": 2}],
                "pickup_window_id": window["id"],
                **extra,
            },
            headers=person.headers,
        )
        assert response.status_code == 201, response.text
        return response.json()

    def curry_left():
        menu = client.get(f"/api/meal-services/{service['id']}").json()
        return next(i for i in menu["items"] if i["id"] == curry["id"])["remaining"]

    order(karim, note="Allergique aux arachides")
    guest = order(staff, guest_name="Fatou Diop")
    assert curry_left() == 16

    done = delete_me(client, karim)
    assert done.status_code == 200, done.text
    assert done.json()["orders_cancelled"] == 1 and done.json()["orders_anonymised"] == 1
    assert curry_left() == 18  # Karim's two portions are back

    erased = client.post(f"/api/meal-orders/{guest['id']}/erase-guest", headers=staff.headers)
    assert erased.status_code == 200, erased.text
    assert erased.json()["orders_anonymised"] == 1
    sheet = client.get(f"/api/meal-services/{service['id']}/kitchen-sheet", headers=chef.headers)
    assert sheet.status_code == 200
    assert "Fatou" not in sheet.text and "Karim" not in sheet.text and "arachides" not in sheet.text
    assert (
        client.post(f"/api/meal-orders/{guest['id']}/erase-guest", headers=chef.headers).status_code
        == 404
    )  # the kitchen takes orders; erasing people is for managers and staff


# --- the daily purge inside the service ---------------------------------------------------------


def test_two_workers_purging_at_once_erase_each_guest_once(client, world, garden, settings):
    import asyncio

    from sqlalchemy.ext.asyncio import async_sessionmaker

    from tierslieu import db

    staff = world.staff_a
    for name in ("Odette Lemaire", "Paul Durand", "Rose Martin"):
        book(client, staff, garden["id"], TUESDAY_10, guest={"name": name})
        book(client, staff, garden["id"], SATURDAY_10, guest={"name": name})
    travel_to(dt.datetime(2028, 5, 1, tzinfo=dt.UTC))

    async def both():
        engine = db.create_engine(settings)
        try:
            sessions = async_sessionmaker(engine, expire_on_commit=False)
            async with sessions() as one, sessions() as two:
                return await asyncio.gather(
                    personal_data.purge(one, settings), personal_data.purge(two, settings)
                )
        finally:
            await engine.dispose()

    reports = asyncio.run(both())
    assert sum(r.guests for r in reports) == 3
    assert sum(r.guest_bookings for r in reports) == 6
    labels = {}
    for booking_id, (name, _phone, _email) in run_db(settings, _bookings).items():
        labels.setdefault(name, []).append(booking_id)
    assert all(n.startswith("anonyme-") for n in labels)
    assert sorted(len(ids) for ids in labels.values()) == [2, 2, 2]  # three anonymous people


def test_the_service_purges_by_itself(client, world, settings):
    import asyncio

    from sqlalchemy.ext.asyncio import async_sessionmaker

    from tierslieu import db

    client.post("/api/auth/login", json={"email": "x@exemple.test", "password": "mauvais-mdp"})
    travel_to(MARCH_15 + dt.timedelta(days=2))

    async def run_briefly():
        engine = db.create_engine(settings)
        try:
            task = asyncio.create_task(
                personal_data.run_purge_forever(
                    async_sessionmaker(engine, expire_on_commit=False),
                    settings,
                    first_delay=0,
                    every=3600,
                )
            )
            for _ in range(200):
                await asyncio.sleep(0.02)
                async with async_sessionmaker(engine)() as session:
                    if not (await _count_failures_and_keys(session))[0]:
                        break
            task.cancel()
            async with asyncio.timeout(30):  # a stopped purge stops (it once slept on)
                await asyncio.gather(task, return_exceptions=True)
        finally:
            await engine.dispose()

    asyncio.run(run_briefly())
    assert run_db(settings, _count_failures_and_keys) == (0, 0)
    # The app starts the same task in its lifespan unless TIERSLIEU_PURGE_EVERY_HOURS=0.
    assert personal_data.start_daily_purge(None, replace(settings, purge_every_hours=0)) is None
