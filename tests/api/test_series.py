"""Recurring bookings (issue 13): « every Tuesday at 10:00 », one booking per occurrence.

The garden opens on Tuesdays 09:00–12:00 from October 2027 to April 2028 (1-hour slots, 2
places), the clock on 1 October 2027. Summer time ends on 31 October 2027 and starts again
on 26 March 2028 in Paris: a series keeps its local time across both.
"""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
from ical.calendar_stream import IcsCalendarStream
from sqlalchemy import func, select, text

from tests.conftest import register, run_db, unique_email
from tierslieu.models import Booking, BookingSeries, OutboxMessage
from tierslieu.services import feeds
from tierslieu.services.clock import frozen
from tierslieu.services.mail import render

OCTOBER_1 = dt.datetime(2027, 10, 1, 10, 0, tzinfo=dt.UTC)
TUESDAYS = {
    "weekdays": [2],
    "start_time": "09:00",
    "end_time": "12:00",
    "valid_from": "2027-10-01",
    "valid_until": "2028-04-30",
    "slot_minutes": 60,
    "capacity": 2,
}
OCT_12_10 = "2027-10-12T10:00:00+02:00"
OCT_12_11 = "2027-10-12T11:00:00+02:00"
SIX_TUESDAYS = [
    "2027-10-12T10:00:00+02:00",
    "2027-10-19T10:00:00+02:00",
    "2027-10-26T10:00:00+02:00",
    "2027-11-02T10:00:00+01:00",  # winter time: still 10:00 on the garden's clock
    "2027-11-09T10:00:00+01:00",
    "2027-11-16T10:00:00+01:00",
]


@pytest.fixture(autouse=True)
def now():
    feeds.clear_cache()
    with frozen(OCTOBER_1):
        yield
    feeds.clear_cache()


@pytest.fixture
def garden(client, world, now):
    response = client.post(
        f"/api/assets/{world.garden['id']}/availability",
        json=TUESDAYS,
        headers=world.staff_a.headers,
    )
    assert response.status_code == 201, response.text
    return world.garden


def book_series(client, person, asset_id, repeat, *, starts=OCT_12_10, ends=OCT_12_11, **extra):
    return client.post(
        "/api/bookings",
        json={
            "asset_id": asset_id,
            "starts_at": starts,
            "ends_at": ends,
            "repeat": repeat,
            **extra,
        },
        headers=person.headers,
    )


def remaining(client, asset_id, day: str) -> dict[str, int]:
    slots = client.get(f"/api/assets/{asset_id}/slots", params={"from": day, "to": day}).json()
    return {s["starts_at"][11:16]: s["remaining"] for s in slots}


def counters_equal_bookings(settings) -> None:
    """Every slot counter holds exactly the places of the active bookings of its slot."""

    async def read(session):
        rows = await session.execute(
            text(
                "SELECT c.taken, (SELECT coalesce(sum(b.party_size), 0) FROM booking b "
                "WHERE b.asset_id = c.asset_id AND b.starts_at = c.starts_at "
                "AND b.status IN ('pending', 'confirmed', 'attended', 'no_show')) "
                "FROM slot_counter c"
            )
        )
        return [tuple(r) for r in rows]

    counters = run_db(settings, read)
    assert counters and all(taken == booked for taken, booked in counters), counters


def count_rows(settings, model) -> int:
    async def read(session):
        return await session.scalar(select(func.count()).select_from(model))

    return run_db(settings, read)


def series_messages(settings, kind: str) -> list[OutboxMessage]:
    async def read(session):
        return list(await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))

    return run_db(settings, read)


def test_weekly_series_keeps_ten_oclock_across_the_autumn_change_and_lists_what_it_skips(
    client, world, garden, settings
):
    # Another neighbour holds both places on 19 October; the garden closes on 9 November.
    other = register(client, unique_email("voisin"), "neighbour", "Paul Durand")
    full = client.post(
        "/api/bookings",
        json={
            "asset_id": garden["id"],
            "starts_at": "2027-10-19T10:00:00+02:00",
            "ends_at": "2027-10-19T11:00:00+02:00",
            "party_size": 2,
        },
        headers=other.headers,
    )
    assert full.status_code == 201, full.text
    closed = client.post(
        f"/api/assets/{garden['id']}/closures",
        json={"starts_on": "2027-11-09", "ends_on": "2027-11-09", "reason": "Formation"},
        headers=world.staff_a.headers,
    )
    assert closed.status_code == 201, closed.text

    response = book_series(client, world.neighbour, garden["id"], {"every_weeks": 1, "count": 6})
    assert response.status_code == 201, response.text
    series = response.json()
    assert series["requested"] == 6 and series["local_time"] == "10:00"
    booked = [b["starts_at"] for b in series["bookings"]]
    assert booked == [SIX_TUESDAYS[i] for i in (0, 2, 3, 5)]
    assert all(b["ends_at"][11:16] == "11:00" for b in series["bookings"])
    assert {b["series_id"] for b in series["bookings"]} == {series["id"]}
    assert [(s["starts_at"], s["code"]) for s in series["skipped"]] == [
        (SIX_TUESDAYS[1], "slot-full"),
        (SIX_TUESDAYS[4], "asset-closed"),
    ]
    assert series["skipped"][0]["reason"] == "Créneau complet"

    # The person sees them among their bookings; the places are taken; counters agree.
    mine = client.get("/api/bookings", headers=world.neighbour.headers).json()
    assert sorted(b["starts_at"] for b in mine) == booked
    assert remaining(client, garden["id"], "2027-11-02")["10:00"] == 1
    counters_equal_bookings(settings)

    # One message for the series, none per occurrence; it lists the skipped dates too.
    confirmed = {row.params["booking_id"] for row in series_messages(settings, "booking-confirmed")}
    assert confirmed == {full.json()["id"]}  # only the other neighbour's single booking
    [row] = series_messages(settings, "booking-series")
    mail = render(row.kind, row.params, "fr", settings)
    assert "4 séances" in mail.subject
    assert "mardi 2 novembre 2027 à 10 h 00" in mail.text
    assert "Créneau complet" in mail.text and "Fermeture" in mail.text
    english = render(row.kind, row.params, "en", settings)
    assert "4" in english.subject and "Série" not in english.subject


def test_spring_change_keeps_ten_oclock_too(client, world, garden):
    # Staff may book further ahead than the garden's 60 days (still at most 52 occurrences).
    response = book_series(
        client,
        world.staff_a,
        garden["id"],
        {"every_weeks": 1, "until": "2028-04-04"},
        starts="2028-03-14T10:00:00",  # a local wall-clock time, no offset
        ends="2028-03-14T11:00:00",
        guest={"name": "Odette Lemaire", "phone": "06 12 34 56 78"},
    )
    assert response.status_code == 201, response.text
    assert [b["starts_at"] for b in response.json()["bookings"]] == [
        "2028-03-14T10:00:00+01:00",
        "2028-03-21T10:00:00+01:00",
        "2028-03-28T10:00:00+02:00",  # summer time since 26 March
        "2028-04-04T10:00:00+02:00",
    ]


def test_all_or_nothing_refuses_everything_and_writes_nothing(client, world, garden, settings):
    closed = client.post(
        f"/api/assets/{garden['id']}/closures",
        json={"starts_on": "2027-10-26", "ends_on": "2027-10-26", "reason": "Formation"},
        headers=world.staff_a.headers,
    )
    assert closed.status_code == 201
    response = book_series(
        client,
        world.neighbour,
        garden["id"],
        {"every_weeks": 1, "count": 4},
        all_or_nothing=True,
    )
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["code"] == "series-refused"
    assert "rien n'a été réservé" in problem["detail"]
    assert problem["skipped"] == [
        {
            "starts_at": SIX_TUESDAYS[2],
            "ends_at": "2027-10-26T11:00:00+02:00",
            "code": "asset-closed",
        }
    ]
    assert client.get("/api/bookings", headers=world.neighbour.headers).json() == []
    assert remaining(client, garden["id"], "2027-10-12")["10:00"] == 2
    assert count_rows(settings, Booking) == 0
    assert count_rows(settings, BookingSeries) == 0
    assert series_messages(settings, "booking-series") == []


def test_cancel_this_and_the_following_frees_the_places(client, world, garden, settings):
    series = book_series(client, world.neighbour, garden["id"], {"every_weeks": 1, "count": 6})
    assert series.status_code == 201, series.text
    series = series.json()
    ids = [b["id"] for b in series["bookings"]]
    assert len(ids) == 6

    # One occurrence alone: the ordinary cancellation.
    one = client.post(f"/api/bookings/{ids[0]}/cancel", headers=world.neighbour.headers)
    assert one.status_code == 200 and one.json()["status"] == "cancelled"

    # The fourth and the following ones.
    response = client.post(
        f"/api/booking-series/{series['id']}/cancel",
        json={"from_booking": ids[3]},
        headers=world.neighbour.headers,
    )
    assert response.status_code == 200, response.text
    done = response.json()
    assert done["cancelled"] == ids[3:] and done["kept"] == []
    statuses = [b["status"] for b in done["series"]["bookings"]]
    assert statuses == [
        "cancelled",
        "confirmed",
        "confirmed",
        "cancelled",
        "cancelled",
        "cancelled",
    ]
    for day in ("2027-11-02", "2027-11-09", "2027-11-16", "2027-10-12"):
        assert remaining(client, garden["id"], day)["10:00"] == 2
    assert remaining(client, garden["id"], "2027-10-19")["10:00"] == 1
    counters_equal_bookings(settings)
    [row] = series_messages(settings, "booking-series-cancelled")
    assert "3 séances" in render(row.kind, row.params, "fr", settings).subject

    # Then the whole series: what is left of it.
    rest = client.post(
        f"/api/booking-series/{series['id']}/cancel", headers=world.neighbour.headers
    )
    assert rest.status_code == 200 and rest.json()["cancelled"] == ids[1:3]
    assert remaining(client, garden["id"], "2027-10-19")["10:00"] == 2
    counters_equal_bookings(settings)


def test_nobody_else_sees_or_cancels_a_series(client, world, garden, settings):
    series = book_series(client, world.neighbour, garden["id"], {"every_weeks": 2, "count": 3})
    assert series.status_code == 201, series.text
    series = series.json()
    assert [b["starts_at"][:10] for b in series["bookings"]] == [
        "2027-10-12",
        "2027-10-26",
        "2027-11-09",
    ]
    url = f"/api/booking-series/{series['id']}"
    stranger = register(client, unique_email("autre"), "neighbour", "Marc Petit")
    for person in (stranger, world.staff_b, world.professional):
        assert client.get(url, headers=person.headers).status_code == 404
        assert client.post(f"{url}/cancel", headers=person.headers).status_code == 404
        from_one = client.post(
            f"{url}/cancel",
            json={"from_booking": series["bookings"][1]["id"]},
            headers=person.headers,
        )
        assert from_one.status_code == 404
    assert client.post(f"{url}/cancel").status_code == 401
    assert remaining(client, garden["id"], "2027-10-26")["10:00"] == 1

    # The person and the structure's staff see it; staff see whose it is.
    assert client.get(url, headers=world.neighbour.headers).status_code == 200
    seen = client.get(url, headers=world.staff_a.headers).json()
    assert seen["bookings"][0]["person"]["name"] == "Jeanne Martin"
    cancelled = client.post(
        f"{url}/cancel", json={"reason": "Travaux"}, headers=world.staff_a.headers
    )
    assert cancelled.status_code == 200 and len(cancelled.json()["cancelled"]) == 3
    counters_equal_bookings(settings)
    [row] = series_messages(settings, "booking-series-cancelled")
    assert "Travaux" in render(row.kind, row.params, "fr", settings).text


@pytest.mark.parametrize(
    ("repeat", "code"),
    [
        ({"every_weeks": 1, "count": 53}, "repeat-too-long"),
        ({"every_weeks": 1, "count": 10}, "repeat-too-long"),  # past the garden's 60 days
        ({"every_weeks": 1, "until": "2099-01-01"}, "repeat-too-long"),
        ({"every_weeks": 1, "count": 2, "until": "2027-10-19"}, "repeat-invalid"),
        ({"every_weeks": 1}, "repeat-invalid"),
        ({"every_weeks": 1, "until": "2027-10-01"}, "repeat-invalid"),
        ({"every_weeks": 0, "count": 2}, "validation-error"),
        ({"every_weeks": 1, "count": 2, "daily": True}, "validation-error"),
    ],
)
def test_absurd_repetitions_are_refused_before_anything_is_booked(
    client, world, garden, settings, repeat, code
):
    response = book_series(client, world.neighbour, garden["id"], repeat)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    assert count_rows(settings, Booking) == 0


def test_refusals_of_the_request_itself_are_not_skipped(client, world, garden, settings):
    # The professional is not in the garden's audience: the whole request is refused.
    response = book_series(client, world.professional, garden["id"], {"every_weeks": 1, "count": 3})
    assert response.status_code == 403 and response.json()["code"] == "audience-not-allowed"
    # Nothing bookable at all (not a slot of the garden): refused, nothing written.
    nothing = book_series(
        client,
        world.neighbour,
        garden["id"],
        {"every_weeks": 1, "count": 3},
        starts="2027-10-12T10:30:00+02:00",
        ends="2027-10-12T11:30:00+02:00",
    )
    assert nothing.status_code == 409 and nothing.json()["code"] == "series-refused"
    assert [s["code"] for s in nothing.json()["skipped"]] == ["not-slot-aligned"] * 3
    assert count_rows(settings, Booking) == 0 and count_rows(settings, BookingSeries) == 0


def test_feeds_carry_each_occurrence_linked_to_the_series(client, world, garden):
    series = book_series(client, world.neighbour, garden["id"], {"every_weeks": 1, "count": 3})
    assert series.status_code == 201, series.text
    series = series.json()
    token = client.post("/api/me/feed-token", headers=world.neighbour.headers).json()
    feed = client.get("/" + token["https"].split("/", 3)[3])
    assert feed.status_code == 200
    cal = icalendar.Calendar.from_ical(feed.content)
    assert all(c.errors == [] for c in cal.walk())
    IcsCalendarStream.calendar_from_ics(feed.content.decode())  # the stricter parser too
    events = [e for e in cal.walk("VEVENT")]
    assert len(events) == 3
    assert {str(e["RELATED-TO"]) for e in events} == {f"series-{series['id']}@tierslieu"}
    assert len({str(e["UID"]) for e in events}) == 3
    # The staff feed too.
    staff = client.post(
        "/api/structures/ehpad-les-tilleuls/feed-token", headers=world.staff_a.headers
    ).json()
    staff_feed = client.get("/" + staff["https"].split("/", 3)[3])
    staff_cal = icalendar.Calendar.from_ical(staff_feed.content)
    assert sum(1 for e in staff_cal.walk("VEVENT") if "RELATED-TO" in e) == 3


def test_a_retried_series_with_the_same_idempotency_key_books_once(client, world, garden, settings):
    headers = {**world.neighbour.headers, "Idempotency-Key": "serie-1"}
    body = {
        "asset_id": garden["id"],
        "starts_at": OCT_12_10,
        "ends_at": OCT_12_11,
        "repeat": {"every_weeks": 1, "count": 3},
    }
    first = client.post("/api/bookings", json=body, headers=headers)
    again = client.post("/api/bookings", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert first.json()["id"] == again.json()["id"]
    assert count_rows(settings, Booking) == 3
    counters_equal_bookings(settings)


def test_staff_see_the_series_on_the_day_sheet_and_the_agenda(client, world, garden):
    from tests.web.helpers import sign_in

    series = book_series(client, world.neighbour, garden["id"], {"every_weeks": 1, "count": 2})
    assert series.status_code == 201, series.text
    sheet = client.get(
        f"/api/assets/{garden['id']}/day-sheet?date=2027-10-12", headers=world.staff_a.headers
    )
    assert sheet.status_code == 200
    assert sheet.text.count("(série)") == 1 and "Jeanne Martin" in sheet.text
    sign_in(client, world.staff_a.email)
    agenda = client.get("/structures/ehpad-les-tilleuls/agenda?semaine=2027-W41").text
    assert "Jeanne Martin" in agenda and "(série)" in agenda
    sign_in(client, world.neighbour.email)
    mine = client.get("/mes-reservations").text
    assert mine.count("réservation régulière") == 2


def test_the_person_cancels_an_occurrence_and_the_following_ones_from_their_page(
    client, world, garden, settings
):
    from tests.web.helpers import post_form, sign_in

    series = book_series(client, world.neighbour, garden["id"], {"every_weeks": 1, "count": 4})
    assert series.status_code == 201, series.text
    ids = [b["id"] for b in series.json()["bookings"]]
    # Someone else's occurrence: nothing happens.
    stranger = register(client, unique_email("autre"), "neighbour", "Marc Petit")
    sign_in(client, stranger.email)
    refused = post_form(
        client, "/mes-reservations", f"/mes-reservations/{ids[1]}/annuler-suivantes", {}
    )
    assert refused.status_code == 303
    assert remaining(client, garden["id"], "2027-10-19")["10:00"] == 1

    sign_in(client, world.neighbour.email)
    page = client.get("/mes-reservations").text
    assert page.count("/annuler-suivantes") == 4
    done = post_form(
        client, "/mes-reservations", f"/mes-reservations/{ids[1]}/annuler-suivantes", {}
    )
    assert done.status_code == 303
    assert "3 séances annulées" in client.get(done.headers["location"]).text
    statuses = [
        client.get(f"/api/bookings/{i}", headers=world.neighbour.headers).json()["status"]
        for i in ids
    ]
    assert statuses == ["confirmed", "cancelled", "cancelled", "cancelled"]
    assert remaining(client, garden["id"], "2027-10-19")["10:00"] == 2
    counters_equal_bookings(settings)


def test_the_weekly_workshop_books_a_room_every_other_week_around_a_taken_interval(
    client, world, now, settings
):
    from tests.scenarios.room import open_room

    rule = {k: v for k, v in TUESDAYS.items() if k not in ("slot_minutes", "capacity")}
    room = open_room(client, world, {**rule, "end_time": "18:00"})
    taken = client.post(
        "/api/bookings",
        json={
            "asset_id": room["id"],
            "starts_at": "2027-10-26T14:30:00+02:00",
            "ends_at": "2027-10-26T15:30:00+02:00",
        },
        headers=world.professional.headers,
    )
    assert taken.status_code == 201, taken.text
    response = book_series(
        client,
        world.professional,
        room["id"],
        {"every_weeks": 2, "until": "2027-11-23"},
        starts="2027-10-12T14:00:00+02:00",
        ends="2027-10-12T16:00:00+02:00",
    )
    assert response.status_code == 201, response.text
    series = response.json()
    assert [b["starts_at"] for b in series["bookings"]] == [
        "2027-10-12T14:00:00+02:00",
        "2027-11-09T14:00:00+01:00",
        "2027-11-23T14:00:00+01:00",
    ]
    assert [(s["starts_at"], s["code"]) for s in series["skipped"]] == [
        ("2027-10-26T14:00:00+02:00", "interval-taken")
    ]
    # Cancelling the series frees the room: the same interval can be booked again.
    cancel = client.post(
        f"/api/booking-series/{series['id']}/cancel", headers=world.professional.headers
    )
    assert cancel.status_code == 200 and len(cancel.json()["cancelled"]) == 3
    again = client.post(
        "/api/bookings",
        json={
            "asset_id": room["id"],
            "starts_at": "2027-11-09T14:00:00+01:00",
            "ends_at": "2027-11-09T16:00:00+01:00",
        },
        headers=world.neighbour.headers,
    )
    assert again.status_code == 201, again.text
