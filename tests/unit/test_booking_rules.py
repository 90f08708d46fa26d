"""Booking rules without a database: transitions, cancellation deadline, request checks,
matching a request to a slot. One row per case."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import uuid
from typing import Any

import pytest

from tierslieu.domain.bookings import (
    ALLOWED_FROM,
    MAX_ACTIVE_BOOKINGS_PER_STRUCTURE,
    AccountRef,
    AssetRules,
    BookingStatus,
    CreateBooking,
    Guest,
    allowed_from,
    cancel_deadline,
    check_interval,
    check_request,
    match_slot,
    may_change,
    owner_may_cancel,
)
from tierslieu.domain.slots import Period, Slot

S = BookingStatus
Z = dt.UTC
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=Z)  # Tuesday 10:00 in Paris


def refusal(call: Any) -> str | None:
    """The problem code a call raises (``validation-error:field:message`` for a field), or None."""
    try:
        call()
    except Exception as exc:
        code = getattr(exc, "code", type(exc).__name__)
        fields = getattr(exc, "fields", None)
        if fields:
            return f"{code}:{fields[0].field}:{fields[0].message_code}"
        return code
    return None


# --- transitions -----------------------------------------------------------------------

ALLOWED = {
    (S.PENDING, S.CONFIRMED),  # approve
    (S.PENDING, S.DECLINED),  # decline
    (S.PENDING, S.CANCELLED),
    (S.CONFIRMED, S.CANCELLED),
    (S.CONFIRMED, S.ATTENDED),
    (S.CONFIRMED, S.NO_SHOW),
    (S.NO_SHOW, S.ATTENDED),  # corrections
    (S.ATTENDED, S.NO_SHOW),
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_the_transition_table(current, target):
    assert may_change(current, target) == ((current, target) in ALLOWED)
    assert (current in allowed_from(target)) == ((current, target) in ALLOWED)


def test_every_status_has_a_row_and_nothing_leaves_a_final_status():
    assert set(ALLOWED_FROM) == set(S)
    for final in (S.CANCELLED, S.DECLINED):
        assert not any(final in sources for sources in ALLOWED_FROM.values())
    assert allowed_from(S.PENDING) == frozenset()


# --- cancellation deadline ---------------------------------------------------------------

START = dt.datetime(2026, 12, 3, 9, 0, tzinfo=Z)


@pytest.mark.parametrize(
    ("minutes", "now", "may"),
    [
        (0, START, True),  # at the start, with no notice
        (0, START + dt.timedelta(seconds=1), False),
        (120, START - dt.timedelta(minutes=120), True),  # the deadline itself is included
        (120, START - dt.timedelta(minutes=119), False),
        (1440, START - dt.timedelta(days=2), True),
        (1440, START - dt.timedelta(hours=23), False),
    ],
)
def test_cancel_deadline(minutes, now, may):
    assert cancel_deadline(START, minutes) == START - dt.timedelta(minutes=minutes)
    assert owner_may_cancel(START, now, minutes) is may


# --- the request checks --------------------------------------------------------------------

ASSET = AssetRules(
    audience=("neighbours",),
    timezone="Europe/Paris",
    min_notice_minutes=60,
    max_advance_days=30,
    max_party_size=4,
)
REQ = CreateBooking(
    asset_id=uuid.uuid4(),
    starts_at=dt.datetime(2026, 12, 3, 10, 0),  # Thursday, wall clock in Paris
    ends_at=dt.datetime(2026, 12, 3, 11, 0),
    party_size=2,
)
R = dataclasses.replace
at = dt.datetime
# Staff always book for someone: here a contact of the structure.
FOR_CONTACT = R(REQ, contact_id=uuid.uuid4())


@pytest.mark.parametrize(
    ("req", "asset", "who", "expected"),
    [
        (REQ, ASSET, {}, None),
        (REQ, ASSET, {"person_kind": "professional"}, "audience-not-allowed"),
        (FOR_CONTACT, ASSET, {"person_kind": "professional", "is_staff": True}, None),
        # staff who forget to say for whom are asked; others may not book on behalf
        (REQ, ASSET, {"is_staff": True}, "person-required"),
        (R(REQ, contact_id=uuid.uuid4()), ASSET, {}, "guest-not-allowed"),
        (R(REQ, account=AccountRef(email="a@b.fr")), ASSET, {}, "guest-not-allowed"),
        (R(REQ, account=AccountRef()), ASSET, {"is_staff": True}, "person-required"),
        (
            R(FOR_CONTACT, guest=Guest("Ada")),
            ASSET,
            {"is_staff": True},
            "one-person-only",
        ),
        (REQ, R(ASSET, audience=("public",)), {"person_kind": "resident"}, None),
        (REQ, R(ASSET, audience=("residents",)), {}, "audience-not-allowed"),
        (R(REQ, guest=Guest("Ada")), ASSET, {}, "guest-not-allowed"),
        (R(REQ, guest=Guest("Ada")), ASSET, {"is_staff": True}, None),
        (
            R(REQ, guest=Guest("  ")),
            ASSET,
            {"is_staff": True},
            "validation-error:guest.name:blank-name",
        ),
        # a guest is booked by staff: the audience is not the guest's kind
        (R(REQ, guest=Guest("Ada")), R(ASSET, audience=("residents",)), {"is_staff": True}, None),
        # times
        (R(REQ, ends_at=at(2026, 12, 3, 10, 0)), ASSET, {}, "invalid-interval"),
        (R(REQ, ends_at=at(2026, 12, 3, 9, 0)), ASSET, {}, "invalid-interval"),
        (R(REQ, starts_at=at(2026, 12, 1, 9, 0)), ASSET, {}, "in-the-past"),
        (R(REQ, starts_at=at(2026, 12, 1, 10, 0)), ASSET, {"is_staff": True}, "in-the-past"),
        (
            R(REQ, starts_at=at(1999, 12, 1, 10, 0)),
            ASSET,
            {},
            "date-out-of-range:starts_at:date-out-of-range",
        ),
        # the spring gap: a typed time that does not exist is refused on its field
        (
            R(REQ, starts_at=at(2027, 3, 28, 2, 30), ends_at=at(2027, 3, 28, 4, 0)),
            R(ASSET, max_advance_days=365),
            {},
            "validation-error:starts_at:nonexistent-local-time",
        ),
        (
            R(REQ, starts_at=at(2027, 3, 28, 1, 0), ends_at=at(2027, 3, 28, 2, 0)),
            R(ASSET, max_advance_days=365),
            {"is_staff": True},
            "validation-error:ends_at:nonexistent-local-time",
        ),
        # with an offset it is an instant: never refused for the gap
        (
            R(
                REQ,
                starts_at=at(2027, 3, 28, 1, 30, tzinfo=Z),
                ends_at=at(2027, 3, 28, 2, 30, tzinfo=Z),
            ),
            R(ASSET, max_advance_days=365),
            {},
            None,
        ),
        # window (not for staff)
        (R(REQ, starts_at=at(2026, 12, 1, 10, 30)), ASSET, {}, "outside-booking-window"),
        (R(REQ, starts_at=at(2026, 12, 1, 11, 0)), ASSET, {}, None),  # exactly the notice
        (R(FOR_CONTACT, starts_at=at(2026, 12, 1, 10, 30)), ASSET, {"is_staff": True}, None),
        (
            R(REQ, starts_at=at(2027, 1, 5, 10, 0), ends_at=at(2027, 1, 5, 11, 0)),
            ASSET,
            {},
            "outside-booking-window",
        ),
        (
            R(FOR_CONTACT, starts_at=at(2027, 1, 5, 10, 0), ends_at=at(2027, 1, 5, 11, 0)),
            ASSET,
            {"is_staff": True},
            None,
        ),
        # active bookings (not for staff)
        (REQ, ASSET, {"active_bookings": MAX_ACTIVE_BOOKINGS_PER_STRUCTURE}, "too-many-bookings"),
        (REQ, ASSET, {"active_bookings": MAX_ACTIVE_BOOKINGS_PER_STRUCTURE - 1}, None),
        (
            FOR_CONTACT,
            ASSET,
            {"active_bookings": MAX_ACTIVE_BOOKINGS_PER_STRUCTURE, "is_staff": True},
            None,
        ),
        # party size (staff included)
        (R(REQ, party_size=0), ASSET, {}, "invalid-party-size"),
        (R(REQ, party_size=4), ASSET, {}, None),
        (R(REQ, party_size=5), ASSET, {"is_staff": True}, "invalid-party-size"),
        # first refusal wins: audience before times, times before party size
        (R(REQ, party_size=9), ASSET, {"person_kind": "professional"}, "audience-not-allowed"),
        (R(REQ, party_size=9, starts_at=at(2026, 12, 1, 9)), ASSET, {}, "in-the-past"),
    ],
)
def test_check_request(req, asset, who, expected):
    facts = {"now": NOW, "person_kind": "neighbour", "is_staff": False, **who}
    assert refusal(lambda: check_request(req, asset, **facts)) == expected


@pytest.mark.parametrize(
    ("requires_approval", "is_staff", "status"),
    [(False, False, S.CONFIRMED), (True, False, S.PENDING), (True, True, S.CONFIRMED)],
)
def test_an_accepted_request(requires_approval, is_staff, status):
    accepted = check_request(
        R(REQ, guest=Guest("  Ada  ", "0102030405") if is_staff else None),
        R(ASSET, requires_approval=requires_approval),
        now=NOW,
        person_kind="neighbour",
        is_staff=is_staff,
    )
    assert accepted.status == status
    assert accepted.period == Period(at(2026, 12, 3, 9, tzinfo=Z), at(2026, 12, 3, 10, tzinfo=Z))
    if is_staff:
        assert accepted.guest == Guest("Ada", "0102030405")


# --- matching a request to a slot -----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Closed:
    reason: str


def hour(h: int, m: int = 0) -> dt.datetime:
    return at(2026, 12, 3, h, m, tzinfo=Z)


SLOTS = [
    (Slot(hour(9), hour(10), 8), None),
    (Slot(hour(10), hour(11), 8), None),
    (Slot(hour(11), hour(12), 8), Closed("inventaire")),
    (Slot(hour(14), hour(15), 8), Closed("")),
]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (hour(9), hour(10), None),
        (hour(10), hour(11), None),
        (hour(9, 30), hour(10, 30), "not-slot-aligned"),  # overlaps two, matches none
        (hour(9), hour(11), "not-slot-aligned"),
        (hour(12), hour(13), "outside-opening-hours"),
        (hour(7), hour(8), "outside-opening-hours"),
        (hour(11), hour(12), "asset-closed"),
        (hour(14), hour(15), "asset-closed"),  # a closure without a reason
    ],
)
def test_match_slot(start, end, expected):
    assert refusal(lambda: match_slot(Period(start, end), SLOTS)) == expected
    if expected is None:
        slot, closure = match_slot(Period(start, end), SLOTS)
        assert (slot.starts_at, slot.ends_at, closure) == (start, end, None)


def test_a_closed_slot_says_why():
    with pytest.raises(Exception) as caught:
        match_slot(Period(hour(14), hour(15)), SLOTS)
    assert caught.value.params == {"reason": "fermeture"}


OPENING = [Period(hour(8), hour(12)), Period(hour(14), hour(18))]


@pytest.mark.parametrize(
    ("start", "end", "closure", "expected"),
    [
        (hour(8), hour(12), None, None),
        (hour(9), hour(10, 30), None, None),
        (hour(11), hour(14, 30), None, "outside-opening-hours"),  # across the lunch break
        (hour(17), hour(19), None, "outside-opening-hours"),
        (hour(9), hour(10), Closed("travaux"), "asset-closed"),
    ],
)
def test_check_interval(start, end, closure, expected):
    assert refusal(lambda: check_interval(Period(start, end), OPENING, closure)) == expected
