"""Scenario 7: the managers' figures, compared with a hand count (see stats_fixtures.py)."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.api.stats_fixtures import build_known_months
from tests.conftest import STRUCTURE_B, World, register
from tierslieu.settings import Settings

TILLEULS = "/api/structures/ehpad-les-tilleuls"
RELAIS = "/api/structures/chrs-le-relais"
WINDOW = {"from": "2026-02-01", "to": "2026-03-31"}


@pytest.fixture
def known(client: TestClient[Any], settings: Settings, world: World) -> World:
    build_known_months(settings, world)
    return world


def garden_of(report: dict[str, Any]) -> dict[str, Any]:
    (garden,) = report["assets"]
    return garden


def test_garden_month_by_month_matches_the_hand_count(client, known) -> None:
    response = client.get(f"{TILLEULS}/stats", params=WINDOW, headers=known.manager_a.headers)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["periods"] == ["2026-02", "2026-03"]
    assert report["canteen"] is None
    garden = garden_of(report)
    assert garden["cancel_deadline_minutes"] == 120
    february, march = garden["periods"]
    assert {k: march[k] for k in HAND_MARCH} == HAND_MARCH
    assert march["people_by_kind"] == {"neighbour": 1, "professional": 1, "guest": 3}
    assert march["bookings_by_kind"] == {"neighbour": 2, "professional": 1, "guest": 4}
    assert march["waiting_list_promotions"] is None
    assert (february["bookings"], february["people"], february["hours_of_use"]) == (1, 1, 1.0)
    assert (february["offered_place_hours"], february["occupancy_percent"]) == (192.0, 0.5)
    total = garden["total"]
    # Jeanne came in both months: the whole window counts her once.
    assert (total["bookings"], total["places"], total["people"]) == (8, 10, 5)
    assert (total["hours_of_use"], total["offered_place_hours"]) == (5.0, 384.0)
    assert total["occupancy_percent"] == 2.6


HAND_MARCH = {
    "period": "2026-03",
    "first_day": "2026-03-01",
    "last_day": "2026-03-31",
    "bookings": 7,
    "places": 9,
    "people": 5,
    "attended": 4,
    "attended_places": 6,
    "no_show": 1,
    "cancelled": 2,
    "cancelled_late": 1,
    "declined": 1,
    "hours_of_use": 4.0,
    "booked_place_hours": 9.0,
    "offered_place_hours": 192.0,
    "occupancy_percent": 4.7,
}


def test_weeks_are_local_iso_weeks_clipped_to_the_window(client, known) -> None:
    response = client.get(
        f"{TILLEULS}/stats",
        params={"from": "2026-03-01", "to": "2026-03-10", "group": "week"},
        headers=known.staff_a.headers,
    )
    assert response.status_code == 200, response.text
    report = response.json()
    # 1 March 2026 is a Sunday: week 9 is that one day, then 2–8, then 9–10.
    assert report["periods"] == ["2026-W09", "2026-W10", "2026-W11"]
    weeks = garden_of(report)["periods"]
    assert [w["bookings"] for w in weeks] == [0, 3, 1]
    assert [w["offered_place_hours"] for w in weeks] == [0.0, 48.0, 24.0]


def test_canteen_meals_revenue_suspended_meals_pickups_and_sold_out(client, known) -> None:
    response = client.get(f"{RELAIS}/stats", params=WINDOW, headers=known.manager_b.headers)
    assert response.status_code == 200, response.text
    canteen = response.json()["canteen"]
    by_tariff = {(t["period"], t["tariff"]): t for t in canteen["by_tariff"]}
    assert set(by_tariff) == {
        ("2026-03", "habitant"),
        ("2026-03", "professionnel"),
        ("2026-03", "solidaire"),
    }
    pro = by_tariff[("2026-03", "professionnel")]
    assert (pro["orders"], pro["meals"], pro["revenue_cents"]) == (1, 1, 1150)
    resident = by_tariff[("2026-03", "habitant")]
    assert (resident["orders"], resident["meals"], resident["revenue_cents"]) == (1, 2, 1200)
    solidaire = by_tariff[("2026-03", "solidaire")]
    assert (solidaire["meals"], solidaire["revenue_cents"]) == (1, 0)
    assert solidaire["suspended_meals_served"] == 1
    assert canteen["suspended_meals"] == [
        {"period": "2026-02", "bought": 3, "given": 0, "pool_at_end": 3},
        {"period": "2026-03", "bought": 1, "given": 1, "pool_at_end": 3},
    ]
    assert canteen["pickup_windows"] == [
        {"window": "12:00", "orders": 2},
        {"window": "12:15", "orders": 1},
    ]
    (couscous,) = canteen["sold_out"]
    assert couscous["dish"] == "Couscous"
    assert couscous["sold_out_at"].startswith("2026-03-05T10:05:00")
    assert (canteen["services"], canteen["services_sold_out"]) == (1, 0)


def test_csv_is_for_french_spreadsheets(client, known) -> None:
    response = client.get(f"{TILLEULS}/stats.csv", params=WINDOW, headers=known.manager_a.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    raw = response.content
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    header = rows[0]
    march = next(r for r in rows if r[1] == "2026-03")
    cell = dict(zip(header, march, strict=True))
    assert cell["Du"] == "01/03/2026" and cell["Au"] == "31/03/2026"
    assert cell["Personnes différentes"] == "5"
    assert cell["Taux d'occupation (%)"] == "4,7"
    assert cell["Places-heures offertes"] == "192"
    total = next(r for r in rows if r[1] == "Total")
    assert dict(zip(header, total, strict=True))["Taux d'occupation (%)"] == "2,6"


def test_csv_neutralises_formulas_and_xlsx_has_one_sheet_per_table(client, known) -> None:
    patched = client.patch(
        "/api/assets/" + known.garden["id"],
        json={"name": "=1+1 Jardin"},
        headers=known.manager_a.headers,
    )
    assert patched.status_code == 200, patched.text
    body = client.get(
        f"{TILLEULS}/stats.csv", params=WINDOW, headers=known.manager_a.headers
    ).content.decode("utf-8-sig")
    assert "\n'=1+1 Jardin;" in body and "\n=1+1" not in body

    response = client.get(f"{RELAIS}/stats.xlsx", params=WINDOW, headers=known.manager_b.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    with zipfile.ZipFile(io.BytesIO(response.content)) as book:
        workbook = book.read("xl/workbook.xml").decode()
        strings = book.read("xl/sharedStrings.xml").decode()
    for sheet in ("Réservations", "Repas par tarif", "Repas suspendus", "Retraits"):
        assert f'name="{sheet}"' in workbook
    assert "Couscous" in strings and "habitant" in strings


def test_english_headers(client, known) -> None:
    response = client.get(
        f"{TILLEULS}/stats.csv",
        params=WINDOW,
        headers={**known.manager_a.headers, "Accept-Language": "en"},
    )
    assert "Different people" in response.content.decode("utf-8-sig")


def test_who_may_read_the_figures(client, known) -> None:
    assert client.get(f"{TILLEULS}/stats", params=WINDOW).status_code == 401
    for person in (known.neighbour, known.manager_b, known.kitchen_a):
        response = client.get(f"{TILLEULS}/stats", params=WINDOW, headers=person.headers)
        assert response.status_code == 403, person.email
    for suffix in ("stats.csv", "stats.xlsx"):
        response = client.get(f"{TILLEULS}/{suffix}", headers=known.neighbour.headers)
        assert response.status_code == 403
    assert (
        client.get("/api/structures/nowhere/stats", headers=known.manager_a.headers).status_code
        == 404
    )


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2025-01-01", "to": "2026-03-01"},
        {"from": "2026-03-01", "to": "2026-02-01"},
        {"from": "2026-13-01"},
        {"group": "year"},
    ],
)
def test_bad_windows_are_422(client, known, params) -> None:
    response = client.get(f"{TILLEULS}/stats", params=params, headers=known.manager_a.headers)
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_territory_coordinator_sees_sums_of_sharing_structures_never_names(client, known) -> None:
    mayor = register(client, "mairie@romainville.test", "professional", "Mairie Romainville")
    named = client.put(
        "/api/territory/coordinators",
        json={"email": mayor.email, "commune": "Romainville"},
        headers=known.admin.headers,
    )
    assert named.status_code == 201, named.text
    not_admin = client.put(
        "/api/territory/coordinators",
        json={"email": mayor.email, "commune": "Bondy"},
        headers=known.manager_a.headers,
    )
    assert not_admin.status_code == 403
    assert client.get("/api/territory/stats", headers=known.neighbour.headers).status_code == 403

    before = client.get("/api/territory/stats", params=WINDOW, headers=mayor.headers).json()
    assert [(c["commune"], c["structures_sharing"]) for c in before] == [("romainville", 0)]

    shared = client.patch(RELAIS, json={"share_stats": True}, headers=known.manager_b.headers)
    assert shared.status_code == 200 and shared.json()["share_stats"] is True
    refused = client.patch(RELAIS, json={"share_stats": False}, headers=known.staff_b.headers)
    assert refused.status_code == 403

    response = client.get("/api/territory/stats", params=WINDOW, headers=mayor.headers)
    assert response.status_code == 200
    (commune,) = response.json()
    assert (commune["commune"], commune["structures_sharing"]) == (STRUCTURE_B["commune"], 1)
    march = commune["periods"][1]
    assert (march["meals"], march["revenue_cents"]) == (4, 2350)
    assert (march["suspended_meals_bought"], march["suspended_meals_given"]) == (1, 1)
    for secret in ("CHRS", "Relais", "Cantine", "Karim", "Client", "Bénéficiaire"):
        assert secret not in response.text
