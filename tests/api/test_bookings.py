"""Availability and bookings through the API, with the clock set to a known instant."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import register, unique_email
from tests.scenarios.garden import (  # noqa: F401
    GARDEN_RULE,
    MARCH_15,
    TUESDAY_10,
    TUESDAY_11,
    book,
    open_garden,
)
from tierslieu.services.clock import frozen

PARIS = dt.timezone(dt.timedelta(hours=2))  # CEST, April 2027


@pytest.fixture(autouse=True)
def now():
    """Every test here runs on 15 March 2027 (people sign in then, too)."""
    with frozen(MARCH_15):
        yield


@pytest.fixture
def garden(client, world, now):
    return open_garden(client, world)


def test_slots_are_public_local_and_without_names(client, world, garden):
    response = client.get(
        f"/api/assets/{garden['id']}/slots", params={"from": "2027-04-05", "to": "2027-04-11"}
    )
    assert response.status_code == 200
    slots = response.json()
    assert [s["starts_at"] for s in slots] == [
        "2027-04-06T09:00:00+02:00",
        "2027-04-06T10:00:00+02:00",
        "2027-04-06T11:00:00+02:00",
        "2027-04-10T09:00:00+02:00",
        "2027-04-10T10:00:00+02:00",
        "2027-04-10T11:00:00+02:00",
    ]
    assert all(s["capacity"] == 8 and s["remaining"] == 8 for s in slots)
    assert book(client, world.neighbour, garden["id"], party_size=3).status_code == 201
    after = client.get(
        f"/api/assets/{garden['id']}/slots", params={"from": "2027-04-06", "to": "2027-04-06"}
    ).json()
    assert [s["remaining"] for s in after] == [8, 5, 8]
    assert "Jeanne" not in str(after) and "Martin" not in str(after)


def test_slot_listing_limits(client, garden):
    url = f"/api/assets/{garden['id']}/slots"
    too_long = client.get(url, params={"from": "2027-04-01", "to": "2027-07-15"})
    assert too_long.status_code == 422 and too_long.json()["code"] == "range-too-long"
    assert client.get(url, params={"from": "2027-04-10", "to": "2027-04-01"}).status_code == 422
    assert client.get(url, params={"from": "demain", "to": "2027-04-01"}).status_code == 422
    assert client.get(url, params={"to": "2027-04-01"}).status_code == 422


def test_past_slots_and_public_holidays_are_not_offered(client, world, garden):
    # 1 May 2027 is a Saturday and a public holiday: the garden is closed that day.
    may = client.get(
        f"/api/assets/{garden['id']}/slots", params={"from": "2027-05-01", "to": "2027-05-01"}
    ).json()
    assert may == []
    with frozen(dt.datetime(2027, 4, 6, 8, 30, tzinfo=dt.UTC)):  # 10:30 in Paris
        today = client.get(
            f"/api/assets/{garden['id']}/slots", params={"from": "2027-04-06", "to": "2027-04-06"}
        )
        assert [s["starts_at"] for s in today.json()] == ["2027-04-06T11:00:00+02:00"]


def test_holidays_can_be_kept_open(client, world, garden):
    # The EHPAD decides to open on public holidays (setting on the structure).
    response = client.patch(
        "/api/structures/ehpad-les-tilleuls",
        json={"closed_on_public_holidays": False},
        headers=world.manager_a.headers,
    )
    assert response.status_code == 200 and response.json()["closed_on_public_holidays"] is False
    may = client.get(
        f"/api/assets/{garden['id']}/slots", params={"from": "2027-05-01", "to": "2027-05-01"}
    ).json()
    assert len(may) == 3
    bad = client.patch(
        "/api/structures/ehpad-les-tilleuls",
        json={"holiday_subdivision": "99"},
        headers=world.manager_a.headers,
    )
    assert bad.status_code == 422


def test_every_broken_rule_has_its_own_problem_type(client, world, garden):
    gid = garden["id"]
    cases = [
        (
            dict(starts="2027-04-06T11:00:00+02:00", ends="2027-04-06T10:00:00+02:00"),
            422,
            "invalid-interval",
        ),
        (
            dict(starts="2027-02-02T10:00:00+01:00", ends="2027-02-02T11:00:00+01:00"),
            422,
            "in-the-past",
        ),
        (
            dict(starts="2027-06-01T10:00:00+02:00", ends="2027-06-01T11:00:00+02:00"),
            422,
            "outside-booking-window",
        ),
        (
            dict(starts="2027-04-07T10:00:00+02:00", ends="2027-04-07T11:00:00+02:00"),
            422,
            "outside-opening-hours",
        ),
        (
            dict(starts="2027-04-06T10:30:00+02:00", ends="2027-04-06T11:30:00+02:00"),
            422,
            "not-slot-aligned",
        ),
        (dict(party_size=5), 422, "invalid-party-size"),
    ]
    for kwargs, status, code in cases:
        response = book(client, world.neighbour, gid, **kwargs)
        assert (response.status_code, response.json()["code"]) == (status, code), kwargs
        assert response.headers["content-type"].startswith("application/problem+json")
    assert book(client, world.neighbour, gid, party_size=0).status_code == 422
    assert client.get("/api/bookings", headers=world.neighbour.headers).json() == []


def test_closure_blocks_booking_and_reports_existing_ones(client, world, garden):
    first = book(client, world.neighbour, garden["id"], party_size=2)
    assert first.status_code == 201
    closure = client.post(
        f"/api/assets/{garden['id']}/closures",
        json={"starts_on": "2027-04-06", "ends_on": "2027-04-06", "reason": "plan canicule"},
        headers=world.staff_a.headers,
    )
    assert closure.status_code == 201
    body = closure.json()
    assert body["closure"]["starts_at"] == "2027-04-06T00:00:00+02:00"
    assert [b["id"] for b in body["affected_bookings"]] == [first.json()["id"]]
    # The booking is kept: staff decide.
    assert (
        client.get(f"/api/bookings/{first.json()['id']}", headers=world.neighbour.headers).json()[
            "status"
        ]
        == "confirmed"
    )
    refused = book(
        client,
        world.professional,
        garden["id"],
        starts="2027-04-06T09:00:00+02:00",
        ends="2027-04-06T10:00:00+02:00",
    )
    # Garden is for neighbours and residents: a professional is refused on audience first.
    assert refused.status_code == 403 and refused.json()["code"] == "audience-not-allowed"
    other = register(client, unique_email("voisin"), "neighbour")
    closed = book(
        client,
        other,
        garden["id"],
        starts="2027-04-06T09:00:00+02:00",
        ends="2027-04-06T10:00:00+02:00",
    )
    assert closed.status_code == 422
    assert closed.json()["code"] in {"asset-closed", "outside-opening-hours"}
    conflicts = client.get(
        f"/api/assets/{garden['id']}/availability/conflicts", headers=world.staff_a.headers
    )
    assert len(conflicts.json()["affected_bookings"]) == 1
    client.delete(
        f"/api/assets/{garden['id']}/closures/{body['closure']['id']}",
        headers=world.staff_a.headers,
    )
    assert (
        book(
            client,
            other,
            garden["id"],
            starts="2027-04-06T09:00:00+02:00",
            ends="2027-04-06T10:00:00+02:00",
        ).status_code
        == 201
    )


def test_timed_closure_and_rule_removal_report_bookings(client, world, garden):
    booked = book(client, world.neighbour, garden["id"]).json()
    closure = client.post(
        f"/api/assets/{garden['id']}/closures",
        json={
            "starts_at": "2027-04-06T10:30:00",
            "ends_at": "2027-04-06T12:00:00",
            "reason": "formation du personnel",
        },
        headers=world.staff_a.headers,
    )
    assert closure.status_code == 201
    assert (
        closure.json()["closure"]["starts_at"] == "2027-04-06T10:30:00+02:00"
    )  # naive = local time
    assert [b["id"] for b in closure.json()["affected_bookings"]] == [booked["id"]]
    rules = client.get(
        f"/api/assets/{garden['id']}/availability", headers=world.staff_a.headers
    ).json()
    assert rules[0]["start_time"] == "09:00" and rules[0]["weekdays"] == [2, 6]
    removed = client.delete(
        f"/api/assets/{garden['id']}/availability/{rules[0]['id']}", headers=world.staff_a.headers
    )
    assert removed.status_code == 200
    assert [b["id"] for b in removed.json()["affected_bookings"]] == [booked["id"]]
    assert (
        client.get(
            f"/api/assets/{garden['id']}/slots", params={"from": "2027-04-05", "to": "2027-04-11"}
        ).json()
        == []
    )


def test_availability_is_for_the_structure_staff_only(client, world, garden):
    url = f"/api/assets/{garden['id']}/availability"
    for person in (world.neighbour, world.staff_b, world.manager_b, world.kitchen_a):
        assert client.post(url, json=GARDEN_RULE, headers=person.headers).status_code == 403
        assert client.get(url, headers=person.headers).status_code == 403
        assert (
            client.post(
                f"/api/assets/{garden['id']}/closures",
                json={"starts_on": "2027-04-06", "ends_on": "2027-04-06"},
                headers=person.headers,
            ).status_code
            == 403
        )
    bad_rules = [
        {**GARDEN_RULE, "weekdays": [0]},
        {**GARDEN_RULE, "weekdays": []},
        {**GARDEN_RULE, "start_time": "9h"},
        {**GARDEN_RULE, "start_time": "12:00", "end_time": "09:00"},
        {**GARDEN_RULE, "valid_until": "2027-01-01"},
        {**GARDEN_RULE, "slot_minutes": 600},
        {**GARDEN_RULE, "capacity": 0},
    ]
    for body in bad_rules:
        assert client.post(url, json=body, headers=world.staff_a.headers).status_code == 422, body
    assert len(client.get(url, headers=world.staff_a.headers).json()) == 1


def test_scenario_1_staff_book_by_phone_print_the_sheet_and_mark_a_no_show(client, world, garden):
    """Sophie books Tuesday 10:00 for Mme Martin and her grandson, prints the sheet, marks a no-show."""
    response = book(
        client,
        world.manager_a,
        garden["id"],
        party_size=2,
        guest={"name": "Mme Martin", "phone": "01 48 00 00 01"},
        note="vient avec son petit-fils",
    )
    assert response.status_code == 201
    booking = response.json()
    assert booking["status"] == "confirmed"
    assert booking["starts_at"] == TUESDAY_10 and booking["party_size"] == 2
    person = booking["person"]
    assert person.pop("contact_id")  # the guest form makes (or finds) her contact card
    assert person == {"name": "Mme Martin", "phone": "01 48 00 00 01", "guest": True}

    sheet = client.get(
        f"/api/assets/{garden['id']}/day-sheet",
        params={"date": "2027-04-06"},
        headers=world.staff_a.headers,
    )
    assert sheet.status_code == 200 and sheet.headers["content-type"] == "text/html; charset=utf-8"
    html = sheet.text
    assert '<html lang="fr">' in html and "mardi 6 avril 2027" in html
    assert "10 h 00" in html and "Mme Martin" in html and "01 48 00 00 01" in html
    assert "2 / 8 places" in html
    csv_sheet = client.get(
        f"/api/assets/{garden['id']}/day-sheet",
        params={"date": "2027-04-06", "format": "csv"},
        headers=world.staff_a.headers,
    )
    assert "2027-04-06 10:00;11:00;Mme Martin;2;01 48 00 00 01;confirmée" in csv_sheet.text

    for outsider in (world.neighbour, world.staff_b):
        assert (
            client.get(
                f"/api/assets/{garden['id']}/day-sheet",
                params={"date": "2027-04-06"},
                headers=outsider.headers,
            ).status_code
            == 403
        )
        assert (
            client.get(f"/api/bookings/{booking['id']}", headers=outsider.headers).status_code
            == 404
        )

    url = f"/api/bookings/{booking['id']}/attendance"
    early = client.post(url, json={"status": "no_show"}, headers=world.manager_a.headers)
    assert early.status_code == 409 and early.json()["code"] == "attendance-too-early"
    with frozen(dt.datetime(2027, 4, 6, 8, 20, tzinfo=dt.UTC)):  # 10:20, she has not come
        assert (
            client.post(url, json={"status": "no_show"}, headers=world.staff_b.headers).status_code
            == 404
        )
        marked = client.post(url, json={"status": "no_show"}, headers=world.manager_a.headers)
        assert marked.status_code == 200 and marked.json()["status"] == "no_show"
        assert marked.json()["sequence"] == 1
        assert (
            client.post(url, json={"status": "maybe"}, headers=world.manager_a.headers).status_code
            == 422
        )
        sheet = client.get(
            f"/api/assets/{garden['id']}/day-sheet",
            params={"date": "2027-04-06"},
            headers=world.staff_a.headers,
        ).text
        assert "(absent·e)" in sheet


def test_only_staff_book_for_a_guest_and_for_residents_only_assets(client, world, garden):
    as_neighbour = book(client, world.neighbour, garden["id"], guest={"name": "Quelqu'un"})
    assert as_neighbour.status_code == 403 and as_neighbour.json()["code"] == "guest-not-allowed"
    residents_only = client.post(
        "/api/structures/ehpad-les-tilleuls/assets",
        json={
            "name": "Salon des résidents",
            "kind": "room",
            "booking_mode": "shared",
            "capacity": 6,
            "audience": ["residents"],
        },
        headers=world.staff_a.headers,
    ).json()
    client.post(
        f"/api/assets/{residents_only['id']}/availability",
        json=GARDEN_RULE,
        headers=world.staff_a.headers,
    )
    refused = book(client, world.neighbour, residents_only["id"])
    assert refused.status_code == 403 and refused.json()["code"] == "audience-not-allowed"
    assert "résidents" in refused.json()["detail"]
    for_resident = book(
        client, world.staff_a, residents_only["id"], guest={"name": "M. Dupont (chambre 12)"}
    )
    assert for_resident.status_code == 201


def test_reading_bookings_is_owner_or_staff(client, world, garden):
    mine = book(client, world.neighbour, garden["id"]).json()
    assert "person" not in mine
    assert mine["cancellable_until"] == "2027-04-06T08:00:00+02:00"
    other = register(client, unique_email(), "neighbour")
    assert client.get(f"/api/bookings/{mine['id']}", headers=other.headers).status_code == 404
    assert client.get("/api/bookings", headers=other.headers).json() == []
    assert [
        b["id"] for b in client.get("/api/bookings", headers=world.neighbour.headers).json()
    ] == [mine["id"]]
    staff_view = client.get(f"/api/bookings/{mine['id']}", headers=world.staff_a.headers).json()
    assert staff_view["person"]["name"] == "Jeanne Martin"
    listing = client.get(
        "/api/structures/ehpad-les-tilleuls/bookings",
        params={"from": "2027-04-01", "to": "2027-04-30"},
        headers=world.staff_a.headers,
    )
    assert [b["id"] for b in listing.json()] == [mine["id"]]
    for outsider in (world.staff_b, world.neighbour):
        assert (
            client.get(
                "/api/structures/ehpad-les-tilleuls/bookings", headers=outsider.headers
            ).status_code
            == 403
        )
        assert (
            client.post(f"/api/bookings/{mine['id']}/cancel", headers=other.headers).status_code
            == 404
        )
    assert client.get(f"/api/bookings/{mine['id']}").status_code == 401


def test_cancel_frees_the_places_and_respects_the_owner_deadline(client, world, garden):
    url = f"/api/assets/{garden['id']}/slots"
    params = {"from": "2027-04-06", "to": "2027-04-06"}
    booking = book(client, world.neighbour, garden["id"], party_size=4).json()
    assert client.get(url, params=params).json()[1]["remaining"] == 4
    with frozen(
        dt.datetime(2027, 4, 6, 6, 30, tzinfo=dt.UTC)
    ):  # 08:30, cancel_until is 2 h before 10:00
        late = client.post(f"/api/bookings/{booking['id']}/cancel", headers=world.neighbour.headers)
        assert late.status_code == 409 and late.json()["code"] == "not-cancellable"
    cancelled = client.post(
        f"/api/bookings/{booking['id']}/cancel", headers=world.neighbour.headers
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["sequence"] == 1
    assert client.get(url, params=params).json()[1]["remaining"] == 8
    again = client.post(f"/api/bookings/{booking['id']}/cancel", headers=world.neighbour.headers)
    assert again.status_code == 409 and again.json()["code"] == "invalid-status-change"
    # Staff may cancel at any time, even after the owner's deadline.
    second = book(client, world.neighbour, garden["id"]).json()
    with frozen(dt.datetime(2027, 4, 6, 7, 30, tzinfo=dt.UTC)):
        assert (
            client.post(
                f"/api/bookings/{second['id']}/cancel", headers=world.staff_a.headers
            ).status_code
            == 200
        )


def test_full_slot_is_a_clear_409(client, world, garden):
    for i in range(2):
        person = register(client, unique_email(f"v{i}"), "neighbour")
        assert book(client, person, garden["id"], party_size=4).status_code == 201
    late = register(client, unique_email("late"), "neighbour")
    full = book(client, late, garden["id"], party_size=1)
    assert full.status_code == 409
    assert full.json()["code"] == "slot-full" and full.json()["remaining"] == 0
    assert full.json()["title"] == "Créneau complet"


def test_per_person_limit_stops_one_person_taking_every_slot(client, world, now):
    gid = world.garden["id"]
    client.patch(
        f"/api/assets/{gid}",
        json={"rules": {"max_advance_days": 200}},
        headers=world.staff_a.headers,
    )
    client.post(
        f"/api/assets/{gid}/availability",
        json={**GARDEN_RULE, "weekdays": [1, 2, 3, 4, 5, 6, 7]},
        headers=world.staff_a.headers,
    )
    slots = client.get(
        f"/api/assets/{gid}/slots", params={"from": "2027-04-01", "to": "2027-04-30"}
    ).json()
    answers = [
        book(client, world.neighbour, gid, starts=s["starts_at"], ends=s["ends_at"]).status_code
        for s in slots[:22]
    ]
    assert answers[:20] == [201] * 20
    assert answers[20:] == [429, 429]


def test_scenario_6_the_meeting_room_is_never_double_booked(client, world, now):
    """Associations book free intervals of the Romainville room; requests overlap, one wins."""
    room = client.post(
        "/api/structures/chrs-le-relais/assets",
        json={
            "name": "Salle de réunion",
            "kind": "room",
            "booking_mode": "exclusive",
            "capacity": 20,
            "audience": ["professionals", "public"],
            "rules": {"requires_approval": True, "max_party_size": 20, "min_notice_minutes": 1440},
        },
        headers=world.manager_b.headers,
    ).json()
    rule = {
        "weekdays": [1, 2, 3, 4, 5],
        "start_time": "09:00",
        "end_time": "18:00",
        "valid_from": "2027-03-15",
    }
    assert (
        client.post(
            f"/api/assets/{room['id']}/availability", json=rule, headers=world.staff_b.headers
        ).status_code
        == 201
    )
    asso_1 = register(client, unique_email("asso-femmes-relais"), "professional")
    asso_2 = register(client, unique_email("repair-cafe"), "professional")
    first = book(
        client,
        asso_1,
        room["id"],
        "2027-03-17T14:00:00+01:00",
        "2027-03-17T16:00:00+01:00",
        12,
        note="Atelier ABS : accès aux droits",
    )
    assert first.status_code == 201 and first.json()["status"] == "pending"
    overlap = book(
        client, asso_2, room["id"], "2027-03-17T15:00:00+01:00", "2027-03-17T17:00:00+01:00", 8
    )
    assert overlap.status_code == 409 and overlap.json()["code"] == "interval-taken"
    adjacent = book(
        client, asso_2, room["id"], "2027-03-17T16:00:00+01:00", "2027-03-17T18:00:00+01:00", 8
    )
    assert adjacent.status_code == 201
    outside = book(
        client, asso_2, room["id"], "2027-03-17T17:00:00+01:00", "2027-03-17T19:00:00+01:00", 8
    )
    assert outside.status_code == 422 and outside.json()["code"] == "outside-opening-hours"
    free = client.get(
        f"/api/assets/{room['id']}/slots", params={"from": "2027-03-17", "to": "2027-03-17"}
    ).json()
    assert free == [
        {"starts_at": "2027-03-17T09:00:00+01:00", "ends_at": "2027-03-17T14:00:00+01:00"}
    ]
    # Staff approve one, decline the other; a declined interval is free again.
    approved = client.post(
        f"/api/bookings/{first.json()['id']}/approve", headers=world.staff_b.headers
    )
    assert approved.status_code == 200 and approved.json()["status"] == "confirmed"
    assert (
        client.post(
            f"/api/bookings/{first.json()['id']}/approve", headers=world.staff_b.headers
        ).status_code
        == 409
    )
    assert (
        client.post(
            f"/api/bookings/{adjacent.json()['id']}/decline", headers=world.staff_a.headers
        ).status_code
        == 404
    )
    declined = client.post(
        f"/api/bookings/{adjacent.json()['id']}/decline", headers=world.staff_b.headers
    )
    assert declined.json()["status"] == "declined"
    free = client.get(
        f"/api/assets/{room['id']}/slots", params={"from": "2027-03-17", "to": "2027-03-17"}
    ).json()
    assert [f["ends_at"] for f in free] == [
        "2027-03-17T14:00:00+01:00",
        "2027-03-17T18:00:00+01:00",
    ]
    # The town hall's directory lists the commune's resources.
    directory = client.get("/api/assets", params={"commune": "Romainville"}).json()
    assert [a["name"] for a in directory] == ["Salle de réunion"]


def test_the_listing_body_is_the_one_the_slot_objects_would_encode(client, world, garden):
    """The public listing is served from a per-range template (each slot encoded once, its
    places left filled in per read): byte for byte what encoding every slot gives, across a
    booking, a closure, the clock passing slots and the turn of the month."""
    import uuid
    from zoneinfo import ZoneInfo

    import msgspec

    from tests.conftest import run_db
    from tierslieu.api.bookings import SlotOut
    from tierslieu.services import availability

    def listed(first: str, last: str) -> bytes:
        response = client.get(
            f"/api/assets/{garden['id']}/slots", params={"from": first, "to": last}
        )
        assert response.status_code == 200 and response.headers["content-type"].startswith(
            "application/json"
        )
        return response.content

    def encoded(first: str, last: str, settings) -> bytes:
        async def work(session):
            asset, free = await availability.free_slots(
                session, garden_id, dt.date.fromisoformat(first), dt.date.fromisoformat(last)
            )
            tz = ZoneInfo(asset.structure.timezone)
            return msgspec.json.encode(
                [
                    SlotOut(
                        s.starts_at.astimezone(tz),
                        s.ends_at.astimezone(tz),
                        s.capacity,
                        s.remaining,
                    )
                    for s in free
                ]
            )

        return run_db(settings, work)

    garden_id = uuid.UUID(garden["id"])
    settings = client.app.state.settings
    ranges = [
        ("2027-03-29", "2027-04-11"),
        ("2027-04-06", "2027-04-06"),
        ("2027-03-15", "2027-04-30"),
    ]
    assert book(client, world.neighbour, garden["id"], party_size=3).status_code == 201
    closure = client.post(
        f"/api/assets/{garden['id']}/closures",
        json={"starts_on": "2027-04-10", "ends_on": "2027-04-10", "reason": "fête"},
        headers=world.staff_a.headers,
    )
    assert closure.status_code == 201
    for first, last in ranges:
        body = listed(first, last)
        assert body == encoded(first, last, settings)
        assert len(msgspec.json.decode(body)) > 0
    with frozen(dt.datetime(2027, 4, 6, 8, 30, tzinfo=dt.UTC)):  # 10:30 in Paris that Tuesday
        for first, last in ranges[:2]:
            body = listed(first, last)
            assert body == encoded(first, last, settings)
        starts = [s["starts_at"] for s in msgspec.json.decode(listed(*ranges[1]))]
        assert starts == ["2027-04-06T11:00:00+02:00"]  # 9:00 and 10:00 are past
