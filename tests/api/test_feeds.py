"""Calendar feeds through the API: what a calendar app and a curious stranger would see."""

from __future__ import annotations

import datetime as dt
import logging

import icalendar
import pytest
from ical.calendar_stream import IcsCalendarStream

from tests.scenarios.garden import MARCH_15, TUESDAY_10, TUESDAY_11, open_garden
from tierslieu.api.feeds import FeedTokenLogFilter, mask_feed_tokens
from tierslieu.services import feeds
from tierslieu.services.clock import frozen

GUEST = {"name": "Odette Lemaire", "phone": "06 12 34 56 78", "email": "odette@exemple.test"}
PERSONAL = [
    "Jeanne",
    "Martin",
    "jeanne.martin@exemple.test",
    "Odette",
    "Lemaire",
    "06 12 34 56 78",
    "odette@exemple.test",
]


@pytest.fixture(autouse=True)
def now():
    feeds.clear_cache()
    with frozen(MARCH_15):
        yield
    feeds.clear_cache()


@pytest.fixture
def garden(client, world, now):
    return open_garden(client, world)


def book(client, person, asset_id, party_size=1, **extra):
    response = client.post(
        "/api/bookings",
        json={
            "asset_id": asset_id,
            "starts_at": TUESDAY_10,
            "ends_at": TUESDAY_11,
            "party_size": party_size,
            **extra,
        },
        headers=person.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


def check_ics(body: bytes) -> icalendar.Calendar:
    """Both parsers accept it; raw bytes are CRLF, folded, UTC stamps, unique UIDs."""
    cal = icalendar.Calendar.from_ical(body)
    assert all(c.errors == [] for c in cal.walk())
    assert cal.get_missing_tzids() == set()
    IcsCalendarStream.calendar_from_ics(body.decode())
    assert b"\n" not in body.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))
    unfolded = body.decode().replace("\r\n ", "").split("\r\n")
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in unfolded
    assert all(line.endswith("Z") for line in unfolded if line.startswith("DTSTAMP"))
    uids = [line for line in unfolded if line.startswith("UID:")]
    assert len(uids) == len(set(uids))
    return cal


def event(cal: icalendar.Calendar, uid: str) -> icalendar.Event:
    return next(e for e in cal.walk("VEVENT") if str(e["UID"]) == uid)


def person_feed_url(client, person) -> str:
    response = client.post("/api/me/feed-token", headers=person.headers)
    assert response.status_code == 201, response.text
    links = response.json()
    assert links["https"].startswith("http")  # settings.public_url is http in tests
    assert links["webcal"].startswith("webcal://")
    assert len(links["https"]) < 256 and len(links["webcal"]) < 256
    assert links["https"].endswith(".ics")
    return "/" + links["https"].split("/", 3)[3]


# --- public asset feed --------------------------------------------------------------------


def test_public_feed_shows_places_left_and_never_a_person(client, world, garden):
    book(client, world.neighbour, garden["id"], party_size=2)
    book(client, world.staff_a, garden["id"], party_size=1, guest=GUEST)
    response = client.get(f"/ical/assets/{garden['id']}.ics", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "content-encoding" not in response.headers
    assert response.headers["etag"].startswith('"')
    assert response.headers["last-modified"].endswith("GMT")
    body = response.content
    cal = check_ics(body)
    summaries = [str(e["SUMMARY"]) for e in cal.walk("VEVENT")]
    assert "Jardin des Tilleuls — 5 places libres sur 8" in summaries
    assert "Jardin des Tilleuls — 8 places libres sur 8" in summaries
    for text in PERSONAL:
        assert text.encode() not in body, text


def test_same_data_same_bytes_and_304(client, world, garden):
    url = f"/ical/assets/{garden['id']}.ics"
    first = client.get(url)
    feeds.clear_cache()
    second = client.get(url)
    assert first.content == second.content
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(url, headers={"If-Modified-Since": last_modified}).status_code == 304
    book(client, world.neighbour, garden["id"])
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert b"7 places libres sur 8" in changed.content


def test_public_feed_shows_closures_as_all_day_events(client, world, garden):
    response = client.post(
        f"/api/assets/{garden['id']}/closures",
        json={"starts_on": "2027-05-08", "ends_on": "2027-05-09", "reason": "Fête du village"},
        headers=world.staff_a.headers,
    )
    assert response.status_code == 201, response.text
    body = client.get(f"/ical/assets/{garden['id']}.ics").content
    cal = check_ics(body)
    closure = next(e for e in cal.walk("VEVENT") if "fermé : Fête" in str(e["SUMMARY"]))
    assert dt.date(2027, 5, 8) == closure.DTSTART
    assert dt.date(2027, 5, 10) == closure.DTEND  # exclusive end
    assert b"DTSTART;VALUE=DATE:20270508" in body
    slots = [e for e in cal.walk("VEVENT") if "places libres" in str(e["SUMMARY"])]
    assert not any(e.DTSTART.date() == dt.date(2027, 5, 8) for e in slots)


def test_unknown_asset_feed_is_404(client, world):
    assert client.get("/ical/assets/not-a-uuid.ics").status_code == 404
    assert client.get(f"/ical/assets/{world.garden['id']}").status_code == 404


# --- person feed ----------------------------------------------------------------------------


def test_person_feed_follows_a_cancellation(client, world, garden):
    booking = book(client, world.neighbour, garden["id"], party_size=2)
    url = person_feed_url(client, world.neighbour)
    first = client.get(url)
    assert first.status_code == 200
    assert first.headers["referrer-policy"] == "no-referrer"
    uid = f"booking-{booking['id']}@tierslieu"
    before = event(check_ics(first.content), uid)
    assert str(before["STATUS"]) == "CONFIRMED"
    assert "Personnes : 2" in str(before["DESCRIPTION"])
    assert "12 rue des Tilleuls" in str(before["LOCATION"])
    etag = first.headers["etag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304

    cancel = client.post(f"/api/bookings/{booking['id']}/cancel", headers=world.neighbour.headers)
    assert cancel.status_code == 200, cancel.text
    after = client.get(url, headers={"If-None-Match": etag})
    assert after.status_code == 200
    cancelled = event(check_ics(after.content), uid)
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert int(cancelled["SEQUENCE"]) == int(before["SEQUENCE"]) + 1

    # 31 days later the cancelled booking has left the feed.
    with frozen(MARCH_15 + dt.timedelta(days=31)):
        later = client.get(url)
    assert uid.encode() not in later.content


def test_rotation_kills_the_old_url_and_wrong_tokens_are_404(client, world, garden):
    old = person_feed_url(client, world.neighbour)
    assert client.get(old).status_code == 200
    new = person_feed_url(client, world.neighbour)
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    token = new.rsplit("/", 1)[1].removesuffix(".ics")
    wrong = ("A" if token[0] != "A" else "B") + token[1:]
    assert client.get(f"/ical/me/{wrong}.ics").status_code == 404
    assert client.get(f"/ical/me/{token}").status_code == 404
    assert client.get("/ical/me/short.ics").status_code == 404


def test_feed_token_needs_a_signed_in_person(client, world):
    assert client.post("/api/me/feed-token").status_code == 401


# --- staff feed --------------------------------------------------------------------------------


def test_staff_feed_has_names_and_is_for_staff_only(client, world, garden):
    book(client, world.neighbour, garden["id"], party_size=2)
    book(client, world.staff_a, garden["id"], guest=GUEST)
    slug = "ehpad-les-tilleuls"
    assert (
        client.post(
            f"/api/structures/{slug}/feed-token", headers=world.neighbour.headers
        ).status_code
        == 403
    )
    assert (
        client.post(f"/api/structures/{slug}/feed-token", headers=world.staff_b.headers).status_code
        == 403
    )
    response = client.post(f"/api/structures/{slug}/feed-token", headers=world.staff_a.headers)
    assert response.status_code == 201
    url = "/" + response.json()["https"].split("/", 3)[3]
    assert url.startswith(f"/ical/structures/{slug}/")
    feed = client.get(url)
    assert feed.status_code == 200
    check_ics(feed.content)
    assert b"Jeanne Martin" in feed.content
    assert b"Odette Lemaire" in feed.content
    assert b"06 12 34 56 78" in feed.content
    # The token only opens its own structure's feed.
    token = url.rsplit("/", 1)[1]
    assert client.get(f"/ical/structures/chrs-le-relais/{token}").status_code == 404
    # A person token does not open a staff feed.
    me = person_feed_url(client, world.staff_a).rsplit("/", 1)[1]
    assert client.get(f"/ical/structures/{slug}/{me}").status_code == 404


# --- single items ------------------------------------------------------------------------------


def test_single_booking_calendar_has_the_json_authorisation(client, world, garden):
    booking = book(client, world.neighbour, garden["id"])
    url = f"/api/bookings/{booking['id']}/calendar.ics"
    mine = client.get(url, headers=world.neighbour.headers)
    assert mine.status_code == 200
    assert mine.headers["content-type"] == "text/calendar; charset=utf-8"
    cal = check_ics(mine.content)
    assert str(event(cal, f"booking-{booking['id']}@tierslieu")["STATUS"]) == "CONFIRMED"
    assert client.get(url, headers=world.staff_a.headers).status_code == 200
    assert client.get(url, headers=world.professional.headers).status_code == 404
    assert client.get(url, headers=world.staff_b.headers).status_code == 404
    assert client.get(url).status_code == 401


# --- import ----------------------------------------------------------------------------------

ICS = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Mairie//Agenda//FR\r
BEGIN:VEVENT\r
UID:pont-mai@mairie.example\r
DTSTAMP:20270101T000000Z\r
DTSTART;VALUE=DATE:20270507\r
DTEND;VALUE=DATE:20270508\r
SUMMARY:Pont de l'Ascension\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:formation@mairie.example\r
DTSTAMP:20270101T000000Z\r
DTSTART;TZID=Europe/Paris:20270601T090000\r
DTEND;TZID=Europe/Paris:20270601T120000\r
RRULE:FREQ=WEEKLY;COUNT=3\r
SUMMARY:Formation équipe\r
END:VEVENT\r
END:VCALENDAR\r
"""


def upload(client, person, asset_id, data: bytes):
    return client.post(
        f"/api/assets/{asset_id}/closures/import",
        files={"file": ("fermetures.ics", data, "text/calendar")},
        headers=person.headers,
    )


def closures(client, world, garden):
    response = client.get(f"/api/assets/{garden['id']}/closures", headers=world.staff_a.headers)
    assert response.status_code == 200
    return response.json()


def test_import_is_idempotent(client, world, garden):
    first = upload(client, world.staff_a, garden["id"], ICS.encode())
    assert first.status_code == 200, first.text
    assert first.json()["created"] == 4
    again = upload(client, world.staff_a, garden["id"], ICS.encode())
    assert again.status_code == 200
    assert again.json() | {} == {**again.json(), "created": 0, "unchanged": 4}
    assert len(closures(client, world, garden)) == 4
    # Imported titles may come from someone's private agenda: not in the public feed.
    body = client.get(f"/ical/assets/{garden['id']}.ics").content
    assert "Formation équipe".encode() not in body
    assert b"DTSTART;VALUE=DATE:20270507" in body


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"not a calendar", 422),
        (ICS.replace("20270601T090000", "2027garbage").encode(), 422),
        (ICS.replace("Europe/Paris", "Mars/Olympus_Mons").encode(), 422),
        (
            ICS.replace("END:VCALENDAR", "X-PAD:" + "a" * 1_100_000 + "\r\nEND:VCALENDAR").encode(),
            413,
        ),
    ],
    ids=["garbage", "bad-date", "unknown-tzid", "too-large"],
)
def test_bad_files_are_refused_and_change_nothing(client, world, garden, data, status):
    response = upload(client, world.staff_a, garden["id"], data)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert closures(client, world, garden) == []


def test_import_is_for_staff_and_works_per_structure(client, world, garden):
    assert upload(client, world.neighbour, garden["id"], ICS.encode()).status_code == 403
    response = client.post(
        "/api/structures/ehpad-les-tilleuls/closures/import",
        files={"file": ("f.ics", ICS.encode(), "text/calendar")},
        headers=world.staff_a.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["assets"] == 1
    assert len(closures(client, world, garden)) == 4


# --- logs ------------------------------------------------------------------------------------


def test_tokens_are_masked_in_access_logs():
    token = "a" * 32
    assert mask_feed_tokens(f"GET /ical/me/{token}.ics HTTP/1.1") == "GET /ical/me/*** HTTP/1.1"
    assert (
        mask_feed_tokens(f"/ical/structures/ehpad/{token}.ics?x=1")
        == "/ical/structures/ehpad/***?x=1"
    )
    assert mask_feed_tokens("/ical/assets/123.ics") == "/ical/assets/123.ics"
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/ical/me/{token}.ics", "1.1", 200),
        None,
    )
    FeedTokenLogFilter().filter(record)
    assert token not in record.getMessage()
