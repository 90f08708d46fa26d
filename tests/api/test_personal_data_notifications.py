"""Personal data and the outbox: what a deleted account, an erased guest and the retention
purge leave of the notifications written to them, and what the export shows."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from tests.api.test_personal_data import ODETTE, TUESDAY_10, book, delete_me
from tests.conftest import run_db
from tests.scenarios.garden import MARCH_15, open_garden
from tierslieu.domain.notifications import Kind
from tierslieu.models import Asset, OutboxMessage, Structure, User
from tierslieu.services import outbox, personal_data
from tierslieu.services.clock import frozen, travel_to

PUBLIC_URL = "https://tiers.exemple.test"


@pytest.fixture(autouse=True)
def now():
    with frozen(MARCH_15):
        yield
    travel_to(None)


def _write_to_user(settings, user_id: str, kind: Kind = Kind.PASSWORD_CHANGED):
    async def work(session):
        user = await session.get(User, uuid.UUID(user_id))
        row = outbox.enqueue(
            session, kind, outbox.user_recipient(user), {"n": 1}, public_url=PUBLIC_URL
        )
        await session.commit()
        return row.id

    return run_db(settings, work)


def _write_to_guest(settings, asset_id: str, guest: dict):
    async def work(session):
        structure_id = await session.scalar(
            select(Asset.structure_id).where(Asset.id == uuid.UUID(asset_id))
        )
        to = outbox.guest_recipient(guest["name"], guest.get("email"), guest.get("phone"))
        row = outbox.enqueue(
            session,
            Kind.BOOKING_REMINDER,
            to,
            {"asset": "Jardin"},
            public_url=PUBLIC_URL,
            structure_id=structure_id,
        )
        await session.commit()
        return row.id

    return run_db(settings, work)


def _rows(settings):
    async def work(session):
        return {r.id: r for r in (await session.scalars(select(OutboxMessage))).all()}

    return run_db(settings, work)


def test_a_deleted_account_is_sent_nothing_more_and_its_messages_keep_no_address(
    client, world, settings
):
    pending = _write_to_user(settings, world.neighbour.id)
    assert delete_me(client, world.neighbour).status_code == 200
    row = _rows(settings)[pending]
    assert row.status == "dropped"
    assert (row.email, row.phone, row.name, row.params, row.body_text) == (None, None, None, {}, "")
    assert row.kind == "password-changed"  # only what and when stay


def test_erasing_a_guest_removes_the_notifications_written_to_them(client, world, settings):
    with frozen(MARCH_15):
        garden = open_garden(client, world)
    booking = book(client, world.staff_a, garden["id"], TUESDAY_10, guest=ODETTE)
    to_odette = _write_to_guest(settings, garden["id"], ODETTE)
    to_paul = _write_to_guest(settings, garden["id"], {"name": "Paul Durand", "phone": "0700"})
    done = client.post(f"/api/bookings/{booking['id']}/erase-guest", headers=world.staff_a.headers)
    assert done.status_code == 200, done.text
    rows = _rows(settings)
    assert to_odette not in rows and to_paul in rows
    assert not [r for r in rows.values() if r.name and "odette" in r.name.lower()]


def test_the_purge_deletes_old_finished_notifications_and_keeps_pending_ones(
    client, world, settings
):
    sent = _write_to_user(settings, world.neighbour.id)
    waiting = _write_to_user(settings, world.professional.id)

    async def mark_sent(session):
        row = await session.get(OutboxMessage, sent)
        row.status, row.sent_at = "sent", MARCH_15
        await session.commit()

    run_db(settings, mark_sent)
    # 89 days later: kept. The rows' updated_at is the real time, so move the clock from it.
    base = _rows(settings)[sent].updated_at
    with frozen(base + dt.timedelta(days=89)):
        report = run_db(settings, lambda s: personal_data.purge(s, settings))
    assert report.messages == 0 and sent in _rows(settings)
    with frozen(base + dt.timedelta(days=91)):
        report = run_db(settings, lambda s: personal_data.purge(s, settings))
    rows = _rows(settings)
    assert report.messages == 1 and sent not in rows and waiting in rows


def test_the_export_lists_the_notifications_written_to_me(client, world, settings):
    _write_to_user(settings, world.neighbour.id)
    _write_to_user(settings, world.professional.id)  # someone else's: not in my export
    export = client.get("/api/me/export", headers=world.neighbour.headers)
    assert export.status_code == 200, export.text
    body = export.json()
    # Registration queued the address confirmation; the other person's notice is not here.
    mine = sorted((m["kind"], m["channel"], m["status"]) for m in body["notifications"])
    assert mine == [("email-confirm", "email", "pending"), ("password-changed", "email", "pending")]
    assert body["account"]["reminders"] is True
    assert body["account"]["email_confirmed_at"] is None


def test_nobody_is_told_without_an_address_and_reminders_respect_the_choice(settings):
    nobody = outbox.guest_recipient("Sans Contact", None, None)
    by_phone = outbox.guest_recipient("Mme Martin", None, "04 00 00 00 00")
    no_reminders = outbox.Recipient(email="a@exemple.test", reminders=False)

    async def work(session):
        structure_id = await session.scalar(select(Structure.id).limit(1))
        made = [
            outbox.enqueue(session, kind, to, {}, public_url=PUBLIC_URL, structure_id=structure_id)
            for kind, to in (
                (Kind.BOOKING_CONFIRMED, nobody),
                (Kind.BOOKING_CONFIRMED, by_phone),
                (Kind.PASSWORD_RESET, by_phone),  # account mails: e-mail only
                (Kind.BOOKING_REMINDER, no_reminders),
                (Kind.BOOKING_CONFIRMED, no_reminders),
            )
        ]
        await session.commit()
        return [None if m is None else m.channel for m in made]

    assert run_db(settings, work) == [None, "phone", None, None, "email"]


def test_enqueue_once_writes_one_row_per_key_and_rolls_back_with_the_change(settings):
    to = outbox.Recipient(email="b@exemple.test")

    async def twice(session):
        first = await outbox.enqueue_once(
            session, Kind.BOOKING_REMINDER, to, {}, dedupe_key="k1", public_url=PUBLIC_URL
        )
        second = await outbox.enqueue_once(
            session, Kind.BOOKING_REMINDER, to, {}, dedupe_key="k1", public_url=PUBLIC_URL
        )
        await session.commit()
        outbox.enqueue(session, Kind.BOOKING_CONFIRMED, to, {}, public_url=PUBLIC_URL)
        await session.rollback()  # the change failed: its notification goes with it
        return first, second

    assert run_db(settings, twice) == (True, False)
    rows = list(_rows(settings).values())
    assert [(r.kind, r.dedupe_key) for r in rows] == [("booking-reminder", "k1")]
    assert rows[0].message_id.startswith("<") and rows[0].message_id.endswith(
        "@tiers.exemple.test>"
    )
