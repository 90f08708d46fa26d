"""The statements that take a slot's places (``services/bookings.py``).

Text statements, built once: the dialects' ``INSERT … ON CONFLICT`` constructs are not
cacheable (compiled every time, ~1 ms). Typed bind parameters: the asyncpg dialect casts
each one (``$1::UUID``), which PostgreSQL needs in an ``INSERT … SELECT`` list.

- ``TAKE_PLACES_SQLITE`` / ``TAKE_PLACES_AND_BOOK_PG``: the general path. Insert the
  counter with the places taken, or add them to it while they fit, and only while the
  schedule version is the one the checks ran under; on PostgreSQL the booking row goes in
  with it (a data-modifying CTE).
- ``QUICK_*``: the common booking (a person for themself, a shared slot, confirmed at
  once) in one statement on PostgreSQL: the caller's facts are read *and checked* in it
  (schedule version, not staff of the structure, under the limit of bookings to come),
  then the places, the booking and its « confirmed » message are written together, or
  nothing is. Its last SELECT returns the facts and the counter as the statement found
  them, so a refusal is explained without another round trip. On SQLite (no writes in a
  CTE) the guarded counter statement is the same and the two rows follow it, in the same
  ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, bindparam, insert, literal_column, text
from sqlalchemy.sql.elements import TextClause

from tierslieu.db import prepared, raw_statement
from tierslieu.domain.bookings import MAX_ACTIVE_BOOKINGS_PER_STRUCTURE, BookingStatus
from tierslieu.domain.vocabulary import ASSET_MANAGING_ROLES
from tierslieu.models import Booking, Membership, OutboxMessage, SlotCounter

# --- the caller's facts ------------------------------------------------------------------

# The schedule version, the caller's role in the structure, and their bookings to come
# there: as columns, read alone (``schedule_cache.caller_facts``) or inside a write.
CALLER_FACTS_COLUMNS = (
    "COALESCE((SELECT value FROM schedule_version WHERE id = 1), 0) AS version, "
    "(SELECT membership.role FROM membership WHERE membership.user_id = :user_id "
    "AND membership.structure_id = :structure_id) AS role, "
    "(SELECT count(*) FROM booking JOIN asset ON asset.id = booking.asset_id "
    "WHERE booking.user_id = :user_id AND asset.structure_id = :structure_id "
    "AND booking.status IN (:pending, :confirmed) "
    "AND booking.ends_at > :now) AS active"
)
CALLER_FACTS_PARAMS = (
    bindparam("user_id", type_=Membership.user_id.type),
    bindparam("structure_id", type_=Membership.structure_id.type),
    bindparam("now", type_=Booking.ends_at.type),
    bindparam("pending", BookingStatus.PENDING.value, type_=Booking.status.type),
    bindparam("confirmed", BookingStatus.CONFIRMED.value, type_=Booking.status.type),
)
_FACTS_OUT = (
    literal_column("version", BigInteger()),
    literal_column("role", Membership.__table__.c.role.type),
    literal_column("active", Integer()),
)
CALLER_FACTS = (
    text("SELECT " + CALLER_FACTS_COLUMNS).bindparams(*CALLER_FACTS_PARAMS).columns(*_FACTS_OUT)
)

# --- taking places -----------------------------------------------------------------------

_VERSION_IS = "COALESCE((SELECT value FROM schedule_version WHERE id = 1), 0) = :version "
_ON_CONFLICT = (
    "ON CONFLICT (asset_id, starts_at) DO UPDATE SET "
    "taken = slot_counter.taken + excluded.taken, capacity = excluded.capacity, "
    "updated_at = excluded.updated_at "
    "WHERE slot_counter.taken + excluded.taken <= excluded.capacity "
    "AND slot_counter.waiting = 0 "  # nobody takes places while others wait for them
    "RETURNING taken"
)
_COUNTER_COLUMNS = "(id, asset_id, starts_at, ends_at, capacity, taken, created_at, updated_at) "
_COUNTER_VALUES = "SELECT :id, :asset_id, :starts_at, :ends_at, :capacity, :taken, :now, :now "
_TAKE_PLACES = "INSERT INTO slot_counter " + _COUNTER_COLUMNS + _COUNTER_VALUES
TAKE_PLACES_PARAMS = (
    bindparam("id", type_=SlotCounter.id.type),
    bindparam("asset_id", type_=SlotCounter.asset_id.type),
    bindparam("starts_at", type_=SlotCounter.starts_at.type),
    bindparam("ends_at", type_=SlotCounter.ends_at.type),
    bindparam("now", type_=SlotCounter.created_at.type),
    bindparam("capacity", type_=Integer()),
    bindparam("taken", type_=Integer()),
    bindparam("version", type_=BigInteger()),
)


def _insert_select(table: str, columns: list[str], prefix: str, source: str) -> str:
    """``INSERT INTO table (columns) SELECT :prefix_column, … FROM source``."""
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 (constant names)
        f"SELECT {', '.join(f':{prefix}{c}' for c in columns)} FROM {source}"
    )


def _params(model: type, columns: list[str], prefix: str) -> list:
    return [bindparam(f"{prefix}{c}", type_=model.__table__.c[c].type) for c in columns]


# The booking's columns a new booking sets (the others keep their defaults: NULL).
BOOKING_COLUMNS = [
    "id", "asset_id", "user_id", "created_by_id", "contact_id", "guest_name", "guest_phone",
    "guest_email", "starts_at", "ends_at", "party_size", "note", "status", "exclusive",
    "sequence", "quota_override", "series_id", "created_at", "updated_at",
]  # fmt: skip
# An outbox row's columns (``outbox.row``).
MESSAGE_COLUMNS = [
    "id", "created_at", "updated_at", "kind", "channel", "status", "structure_id", "user_id",
    "email", "phone", "name", "language", "params", "dedupe_key", "message_id",
    "next_attempt_at", "attempts", "last_error", "subject", "body_text",
]  # fmt: skip
BOOKING_PARAMS = _params(Booking, BOOKING_COLUMNS, "b_")
MESSAGE_PARAMS = _params(OutboxMessage, MESSAGE_COLUMNS, "m_")

TAKE_PLACES_SQLITE = text(_TAKE_PLACES + "WHERE " + _VERSION_IS + _ON_CONFLICT).bindparams(
    *TAKE_PLACES_PARAMS
)
# PostgreSQL: the booking row in the same statement; nothing back when no places were taken.
TAKE_PLACES_AND_BOOK_PG = text(
    "WITH taken AS ("
    + _TAKE_PLACES
    + "WHERE "
    + _VERSION_IS
    + _ON_CONFLICT
    + ") "
    + _insert_select("booking", BOOKING_COLUMNS, "b_", "taken")
    + " RETURNING id"
).bindparams(*TAKE_PLACES_PARAMS, *BOOKING_PARAMS)

# --- the common booking in one statement -------------------------------------------------

_MANAGING = ", ".join(f"'{role.value}'" for role in sorted(ASSET_MANAGING_ROLES))
# The write happens only under these facts; else the caller's facts explain why not.
_GUARD = (
    "facts.version = :version "
    f"AND COALESCE(facts.role, '') NOT IN ({_MANAGING}) "
    f"AND facts.active < {MAX_ACTIVE_BOOKINGS_PER_STRUCTURE} "
)
_FACTS = "WITH facts AS (SELECT " + CALLER_FACTS_COLUMNS + ") "
# The places' and the caller's parameters by name (both have ``now``: the same instant).
_NAMED = {p.key: p for p in (*CALLER_FACTS_PARAMS, *TAKE_PLACES_PARAMS)}
QUICK_PARAMS = tuple(_NAMED.values())
# What the statement found: the caller's facts, the counter before it, and whether it booked.
_FOUND = (
    "SELECT facts.version, facts.role, facts.active, counter.taken, counter.waiting{booked} "
    "FROM facts LEFT JOIN slot_counter AS counter "
    "ON counter.asset_id = :asset_id AND counter.starts_at = :starts_at"
)
_FOUND_OUT = (
    *_FACTS_OUT,
    literal_column("taken", Integer()),
    literal_column("waiting", Integer()),
)
# SQLite: the guarded counter statement (the booking and its message follow it), and what
# it found when it took nothing.
QUICK_TAKE_PLACES_SQLITE = text(
    _FACTS + _TAKE_PLACES + "FROM facts WHERE " + _GUARD + _ON_CONFLICT
).bindparams(*QUICK_PARAMS)
QUICK_FOUND_SQLITE = (
    text(_FACTS + _FOUND.format(booked=""))
    .bindparams(_NAMED["asset_id"], _NAMED["starts_at"], *CALLER_FACTS_PARAMS)
    .columns(*_FOUND_OUT)
)


# By sqlite3 itself in the write turn (``db.write_rows``): the counter, then the rows.
QUICK_TAKE_PLACES_FAST = prepared(QUICK_TAKE_PLACES_SQLITE)
QUICK_FOUND_FAST = prepared(QUICK_FOUND_SQLITE)
FOUND_NAMES = tuple(c.name for c in _FOUND_OUT)  # its columns, in order
INSERT_BOOKING = prepared(
    insert(Booking.__table__).values(
        dict(zip(BOOKING_COLUMNS, _params(Booking, BOOKING_COLUMNS, ""), strict=True))
    )
)
INSERT_MESSAGE = prepared(
    insert(OutboxMessage.__table__).values(
        dict(zip(MESSAGE_COLUMNS, _params(OutboxMessage, MESSAGE_COLUMNS, ""), strict=True))
    )
)


def _quick_pg(with_message: bool) -> TextClause:
    told = (
        ", told AS (" + _insert_select("outbox_message", MESSAGE_COLUMNS, "m_", "booked") + ") "
        if with_message
        else " "
    )
    statement = "".join(
        (
            _FACTS,
            ", taken AS (",
            _TAKE_PLACES,
            "FROM facts WHERE ",
            _GUARD,
            _ON_CONFLICT,
            "), booked AS (",
            _insert_select("booking", BOOKING_COLUMNS, "b_", "taken"),
            " RETURNING id)",
            told,
            _FOUND.format(booked=", (SELECT count(*) FROM booked) AS booked"),
        )
    )
    return text(statement).bindparams(
        *QUICK_PARAMS, *BOOKING_PARAMS, *(MESSAGE_PARAMS if with_message else ())
    )


# Run through ``db.fetch_raw`` (asyncpg itself: the statement has 51 parameters, and
# SQLAlchemy's processing of them and of the result was a third of the booking's CPU).
QUICK_BOOK_PG_RAW = raw_statement(_quick_pg(with_message=True))
QUICK_BOOK_PG_SILENT_RAW = raw_statement(_quick_pg(with_message=False))  # nobody to tell
