"""Accepting a meal order and choosing its tariff, without a database. One row per case."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

import pytest

from tierslieu.domain import canteen as rules
from tierslieu.domain.canteen import (
    MAX_PORTIONS_PER_ORDER,
    ItemFacts,
    OrderFacts,
    OrderLine,
    PlaceOrder,
    TariffSource,
    accept_order,
    choose_tariff,
)
from tierslieu.errors import render_problem

Z = dt.UTC
CUTOFF = dt.datetime(2026, 12, 3, 9, 30, tzinfo=Z)  # 10:30 in Paris
BEFORE = CUTOFF - dt.timedelta(seconds=1)

CURRY, SOUP, TART, GONE, MENU = (uuid.uuid4() for _ in range(5))
WINDOW, OTHER = uuid.uuid4(), uuid.uuid4()
ITEMS = {
    CURRY: ItemFacts("main", "Curry"),
    SOUP: ItemFacts("starter", "Soupe"),
    TART: ItemFacts("dessert", "Tarte"),
    GONE: ItemFacts("main", "Gratin", withdrawn=True),
    MENU: ItemFacts("formula", "Formule"),
}
FACTS = OrderFacts(
    signed_in=True,
    is_team=False,
    now=BEFORE,
    cutoff=CUTOFF,
    timezone="Europe/Paris",
    items=ITEMS,
    window_ids=frozenset({WINDOW}),
)
REQ = PlaceOrder(service_id=uuid.uuid4(), pickup_window_id=WINDOW, lines=(OrderLine(CURRY, 1),))
R = dataclasses.replace
TEAM = R(FACTS, is_team=True)
ANON = R(FACTS, signed_in=False)
LATE = R(FACTS, now=CUTOFF)
VOUCHER = R(REQ, voucher_code="RS-AAAA-BBBB-CCCC", guest_name="Ada")


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


@pytest.mark.parametrize(
    ("req", "facts", "expected"),
    [
        (REQ, FACTS, None),
        # who may order
        (REQ, ANON, "unauthenticated"),
        (R(REQ, voucher_code="RS-AAAA-BBBB-CCCC"), ANON, "validation-error:guest_name:required"),
        (VOUCHER, ANON, None),
        (R(REQ, guest_name="Ada"), FACTS, "forbidden"),
        (R(REQ, guest_name="Ada"), TEAM, None),
        (R(REQ, guest_name="\u202e"), TEAM, "validation-error:guest_name:invalid-name"),
        (R(REQ, guest_name="Ada", guest_tariff="solidaire"), FACTS, "forbidden"),
        (R(REQ, guest_tariff="solidaire"), TEAM, "validation-error:guest_tariff:invalid"),
        (R(REQ, guest_name="Ada", guest_tariff="solidaire"), TEAM, None),
        # the cutoff: strictly before; the team for a guest also after it
        (REQ, LATE, "order-cutoff-passed"),
        (REQ, R(LATE, now=CUTOFF + dt.timedelta(hours=2)), "order-cutoff-passed"),
        (REQ, R(TEAM, now=CUTOFF), "order-cutoff-passed"),  # the team for itself: no
        (R(REQ, guest_name="Ada"), R(TEAM, now=CUTOFF), None),
        (VOUCHER, R(ANON, now=CUTOFF), "order-cutoff-passed"),
        # lines
        (R(REQ, lines=()), FACTS, "empty-order"),
        (R(REQ, lines=(OrderLine(uuid.uuid4(), 1),)), FACTS, "item-not-in-service"),
        (R(REQ, lines=(OrderLine(GONE, 1),)), FACTS, "item-withdrawn"),
        (R(REQ, lines=(OrderLine(CURRY, MAX_PORTIONS_PER_ORDER),)), FACTS, None),
        (
            R(REQ, lines=(OrderLine(CURRY, 6), OrderLine(CURRY, 5))),  # merged: 11
            FACTS,
            "order-too-large",
        ),
        (R(REQ, lines=(OrderLine(CURRY, 6), OrderLine(TART, 5))), FACTS, "order-too-large"),
        (R(REQ, pickup_window_id=OTHER), FACTS, "pickup-window-not-in-service"),
        # without an account: exactly one main course or formula, nothing paid forward
        (R(VOUCHER, lines=(OrderLine(MENU, 1),)), ANON, None),
        (R(VOUCHER, lines=(OrderLine(CURRY, 2),)), ANON, "voucher-order-one-meal"),
        (R(VOUCHER, lines=(OrderLine(TART, 1),)), ANON, "voucher-order-one-meal"),
        (
            R(VOUCHER, lines=(OrderLine(CURRY, 1), OrderLine(TART, 1))),
            ANON,
            "voucher-order-one-meal",
        ),
        (R(VOUCHER, suspended_meals=1), ANON, "voucher-order-one-meal"),
        (R(REQ, voucher_code="RS-AAAA-BBBB-CCCC", lines=(OrderLine(TART, 2),)), FACTS, None),
        # first refusal wins
        (R(REQ, lines=()), LATE, "order-cutoff-passed"),
        (R(REQ, lines=(), pickup_window_id=OTHER), FACTS, "empty-order"),
        (R(REQ, guest_name="Ada", lines=()), R(FACTS, now=CUTOFF), "forbidden"),
    ],
)
def test_accept_order(req, facts, expected):
    assert refusal(lambda: accept_order(req, facts)) == expected


def test_the_cutoff_refusal_says_when_in_local_time():
    with pytest.raises(Exception) as caught:
        accept_order(REQ, LATE)
    # The refusal carries the instant and the zone; the reader's language formats them.
    assert caught.value.params == {"cutoff": LATE.cutoff, "tz": "Europe/Paris"}
    assert caught.value.extra == {"order_cutoff": "2026-12-03T10:30:00+01:00"}
    _title, detail = render_problem(caught.value, "fr")
    assert "3 décembre 2026" in detail
    assert "10 h 30" in detail


@pytest.mark.parametrize(
    ("req", "facts", "source", "guest", "lines"),
    [
        (REQ, FACTS, TariffSource.OWN, None, {CURRY: 1}),
        (
            R(REQ, lines=(OrderLine(CURRY, 2), OrderLine(TART, 1), OrderLine(CURRY, 3))),
            FACTS,
            TariffSource.OWN,
            None,
            {CURRY: 5, TART: 1},
        ),
        (R(REQ, guest_name=" Ada "), TEAM, TariffSource.GUEST_DEFAULT, "Ada", {CURRY: 1}),
        (
            R(REQ, guest_name="Ada", guest_tariff="solidaire"),
            TEAM,
            TariffSource.CHOSEN,
            "Ada",
            {CURRY: 1},
        ),
        (VOUCHER, ANON, TariffSource.GUEST_DEFAULT, "Ada", {CURRY: 1}),
        (REQ, TEAM, TariffSource.OWN, None, {CURRY: 1}),  # the team orders for itself
    ],
)
def test_what_an_accepted_order_holds(req, facts, source, guest, lines):
    accepted = accept_order(req, facts)
    assert accepted.tariff_source == source
    assert accepted.guest_name == guest
    assert accepted.for_guest is (guest is not None)
    assert dict(accepted.lines) == lines
    assert list(accepted.lines) == list(lines)  # merged in the order first asked
    assert accepted.voucher is bool(req.voucher_code)


DEFAULTS = {"habitant": ["neighbour"], "professionnel": ["professional"], "solidaire": []}


@pytest.mark.parametrize(
    ("kind", "assigned", "defaults", "guest_code", "tariff"),
    [
        ("professional", None, DEFAULTS, None, "professionnel"),
        ("neighbour", None, DEFAULTS, None, "habitant"),
        ("neighbour", "solidaire", DEFAULTS, None, "solidaire"),  # staff's assignment first
        ("neighbour", None, {"solidaire": []}, None, None),  # no default for the kind
        ("association", None, DEFAULTS, None, None),
        ("neighbour", None, DEFAULTS, "solidaire", "habitant"),  # a person: no guest code
        (None, None, DEFAULTS, None, "habitant"),  # a guest: the neighbours' default
        (None, None, DEFAULTS, "solidaire", "solidaire"),  # the team's choice
        (None, "professionnel", DEFAULTS, None, "habitant"),  # a guest has no assignment
        (None, None, {"solidaire": []}, None, None),
        (None, None, {"b": ["neighbour"], "a": ["neighbour"]}, None, "a"),  # code order
    ],
)
def test_choose_tariff(kind, assigned, defaults, guest_code, tariff):
    assert choose_tariff(kind, assigned, defaults, guest_code) == tariff
    if kind is not None and guest_code is None:
        assert rules.tariff_for(kind, assigned, defaults) == tariff


@pytest.mark.parametrize(
    ("now", "open_"),
    [
        (CUTOFF - dt.timedelta(hours=1), True),
        (BEFORE, True),
        (CUTOFF, False),
        (CUTOFF + dt.timedelta(seconds=1), False),
    ],
)
def test_ordering_is_open_strictly_before_the_cutoff(now, open_):
    assert rules.ordering_open(now, CUTOFF) is open_


@pytest.mark.parametrize(
    ("pickups", "expected"),
    [
        ([], None),  # no window yet
        ([CUTOFF + dt.timedelta(hours=2)], None),
        ([CUTOFF], None),  # at the first pickup: allowed
        ([CUTOFF + dt.timedelta(hours=3), CUTOFF - dt.timedelta(minutes=1)], "cutoff-after-pickup"),
    ],
)
def test_the_cutoff_comes_before_the_first_pickup(pickups, expected):
    outcome = refusal(lambda: rules.check_cutoff_before_pickup(CUTOFF, pickups))
    assert outcome == (None if expected is None else f"validation-error:order_cutoff:{expected}")
