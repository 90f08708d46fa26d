"""Canteen rules without a database: prices, tariffs, cutoffs and local time, vouchers."""

from __future__ import annotations

import datetime as dt

import pytest

from tierslieu import labels
from tierslieu.domain import canteen as rules
from tierslieu.domain import localtime

PRICES = {"professionnel": 950, "habitant": 600, "solidaire": 100}
TART = {"professionnel": 250, "habitant": 150, "solidaire": 50}


def test_fourteen_allergens_with_french_labels_and_fixed_codes():
    assert len(rules.Allergen) == 14
    assert set(labels.TABLES["allergen"]) == set(rules.Allergen)
    assert labels.label("fr", "allergen", rules.Allergen.SESAME) == "Graines de sésame"
    assert labels.label("fr", "allergen", rules.Allergen.NUTS) == "Fruits à coque"
    assert set(labels.TABLES["diet"]) == set(rules.Diet)
    assert {k.value for k in rules.DishKind} == {"starter", "main", "dessert", "formula", "drink"}


def test_price_at_the_tariff_with_paid_forward_meals():
    lines = [
        rules.LineRequest("curry", 1, "main", PRICES),
        rules.LineRequest("tarte", 2, "dessert", TART),
    ]
    priced, total = rules.price_order(
        lines, "professionnel", suspended_meals=1, suspended_meal_cents=600
    )
    assert [p.line_cents for p in priced] == [950, 500]
    assert total == 950 + 500 + 600
    _, solidaire = rules.price_order(lines, "solidaire")
    assert solidaire == 100 + 100


def test_a_voucher_pays_the_dearest_main_or_formula_once():
    lines = [
        rules.LineRequest("curry", 2, "main", PRICES),
        rules.LineRequest("formule", 1, "formula", {"habitant": 800}),
        rules.LineRequest("tarte", 1, "dessert", TART),
    ]
    priced, total = rules.price_order(lines, "habitant", voucher=True)
    assert [p.free_quantity for p in priced] == [0, 1, 0]
    assert total == 2 * 600 + 150
    with pytest.raises(rules.NoVoucherItem):
        rules.price_order([lines[2]], "habitant", voucher=True)
    with pytest.raises(rules.NoPrice):
        rules.price_order([lines[1]], "professionnel")


def test_tariff_for_a_person():
    defaults = {"professionnel": ["professional"], "habitant": ["neighbour"], "solidaire": []}
    assert rules.tariff_for("professional", None, defaults) == "professionnel"
    assert rules.tariff_for("neighbour", None, defaults) == "habitant"
    assert rules.tariff_for("neighbour", "solidaire", defaults) == "solidaire"
    assert rules.tariff_for("neighbour", None, {"solidaire": []}) is None
    assert rules.valid_tariff_code("professionnel")
    assert not rules.valid_tariff_code("Pas Bon")


def test_cutoff_is_a_precise_instant_in_the_structure_time_zone():
    cutoff = localtime.to_utc(dt.datetime(2026, 12, 3, 10, 30), "Europe/Paris")
    assert cutoff == dt.datetime(2026, 12, 3, 9, 30, tzinfo=dt.UTC)
    summer = localtime.to_utc(dt.datetime(2027, 6, 3, 10, 30), "Europe/Paris")
    assert summer == dt.datetime(2027, 6, 3, 8, 30, tzinfo=dt.UTC)
    assert rules.ordering_open(cutoff - dt.timedelta(seconds=1), cutoff)
    assert not rules.ordering_open(cutoff, cutoff)
    assert not rules.ordering_open(cutoff + dt.timedelta(seconds=1), cutoff)
    with pytest.raises(localtime.NonexistentLocalTime):
        localtime.to_utc(dt.datetime(2027, 3, 28, 2, 30), "Europe/Paris")
    # The repeated autumn hour takes its first occurrence (summer time).
    autumn = localtime.to_utc(dt.datetime(2026, 10, 25, 2, 30), "Europe/Paris")
    assert autumn == dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)
    aware = dt.datetime(2026, 12, 3, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert localtime.to_utc(aware, "America/New_York") == cutoff
    assert localtime.to_local(cutoff, "Europe/Paris").isoformat() == "2026-12-03T10:30:00+01:00"


def test_voucher_codes_are_readable_random_and_stored_hashed():
    codes = {rules.new_voucher_code() for _ in range(200)}
    assert len(codes) == 200
    code = next(iter(codes))
    assert code.startswith("RS-") and len(code) == 17
    assert not set(code.replace("RS-", "").replace("-", "")) & set("01IO")
    typed = code.lower().replace("-", " ")
    assert rules.voucher_hash(typed) == rules.voucher_hash(code)
    assert rules.voucher_hash(code) != code and len(rules.voucher_hash(code)) == 64


def test_french_price_format():
    assert rules.format_cents(950) == "9,50 €"
    assert rules.format_cents(100) == "1,00 €"
    assert rules.format_cents(0) == "0,00 €"
