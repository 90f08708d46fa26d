"""The « Bilan » page (scenario 7) and the open-data directory, without a browser."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.api.stats_fixtures import build_known_months
from tests.web.helpers import sign_in

BILAN = "/structures/ehpad-les-tilleuls/bilan"
WINDOW = "?from=2026-02-01&to=2026-03-31&group=month"


@pytest.fixture
def known(client, settings, world):
    build_known_months(settings, world)
    return world


def test_bilan_shows_each_chart_with_its_table_and_no_inline_script(client, known):
    sign_in(client, known.manager_a.email)
    page = client.get(BILAN + WINDOW)
    assert page.status_code == 200, page.text
    html = page.text
    assert "Bilan — EHPAD Les Tilleuls" in html
    assert "février 2026" in html and "31 mars 2026" in html
    for name in ("people", "occupancy", "hours"):
        assert f"/bilan/graphique/{name}.svg?from=2026-02-01" in html
    # Each chart's data table: March occupancy 4,7 % and 5 different people.
    assert '<td class="num">4,7</td>' in html and '<td class="num">5</td>' in html
    # Strict CSP: no inline script or style attribute in the page.
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "style=" not in html
    svg = client.get(f"{BILAN}/graphique/people.svg{WINDOW}")
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert "<script" not in svg.text and "Jardin des Tilleuls" in svg.text
    policy = svg.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "style-src 'unsafe-inline'" in policy  # styled
    assert "script-src" not in policy and svg.headers["x-content-type-options"] == "nosniff"


def test_bilan_downloads_use_the_session(client, known):
    sign_in(client, known.staff_a.email)
    response = client.get(f"{BILAN}/export/bilan.csv{WINDOW}")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    march = next(r for r in rows if r[1] == "2026-03")
    assert march[6] == "5"
    xlsx = client.get(f"{BILAN}/export/bilan.xlsx{WINDOW}")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_bilan_is_for_the_structure_team_only(client, known):
    assert client.get(BILAN, follow_redirects=False).status_code in (302, 303)
    sign_in(client, known.neighbour.email)
    assert client.get(BILAN).status_code == 403
    assert client.get(f"{BILAN}/graphique/people.svg").status_code == 403
    assert client.get(f"{BILAN}/export/bilan.csv").status_code == 403


def test_bad_dates_fall_back_to_this_year_with_a_message(client, known):
    sign_in(client, known.manager_a.email)
    page = client.get(BILAN + "?from=2020-01-01&to=2026-01-01")
    assert page.status_code == 200
    assert "Dates invalides" in page.text


def test_directory_search_osm_links_and_open_data(client, world):
    page = client.get("/?q=tilleuls")
    assert "Jardin des Tilleuls" in page.text
    assert "https://www.openstreetmap.org/?mlat=48.9022&amp;mlon=2.4828" in page.text
    assert "/api/directory.geojson" in page.text and "Licence Ouverte" in page.text
    assert "Jardin des Tilleuls" not in client.get("/?q=cantine").text
    assert "Jardin des Tilleuls" in client.get("/?q=jardin").text  # the kind's label
    assert "Jardin des Tilleuls" in client.get("/?q=BONDY").text

    geo = client.get("/api/directory.geojson")
    assert geo.status_code == 200
    assert geo.headers["content-type"].startswith("application/geo+json")
    body = geo.json()
    assert body["type"] == "FeatureCollection"
    (feature,) = body["features"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [2.4828, 48.9022]}
    props = feature["properties"]
    assert props["asset"] == "Jardin des Tilleuls" and props["commune"] == "Bondy"
    assert props["wheelchair"] is True and props["audience"] == "neighbours, residents"
    for secret in ("Sophie", "sophie@", "Lucas", "Jeanne"):
        assert secret not in geo.text

    table = client.get("/api/directory.csv")
    assert table.status_code == 200 and table.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(table.content.decode("utf-8-sig")), delimiter=";"))
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["latitude"] == "48,9022" and record["wheelchair"] == "oui"


def test_manager_shares_the_figures_from_the_bilan_staff_cannot(client, known, settings):
    from tests.web.helpers import post_form

    sign_in(client, known.manager_a.email)
    response = post_form(client, BILAN, f"{BILAN}/partage", {"share_stats": "1"})
    assert response.status_code in (200, 303)
    assert client.get("/api/structures/ehpad-les-tilleuls").json()["share_stats"] is True
    client.cookies.clear()
    sign_in(client, known.staff_a.email)
    assert 'name="share_stats"' not in client.get(BILAN).text
    post_form(client, BILAN, f"{BILAN}/partage", {})
    assert client.get("/api/structures/ehpad-les-tilleuls").json()["share_stats"] is True


def test_the_demo_gives_a_manager_a_non_empty_bilan(client, settings):
    from tests.conftest import run_db
    from tierslieu.services.demo import DEMO_PASSWORD, load_demo

    run_db(settings, lambda s: load_demo(s, settings))
    sign_in(client, "sophie@les-tilleuls.test", DEMO_PASSWORD)
    page = client.get("/structures/ehpad-les-tilleuls/bilan")
    assert page.status_code == 200
    token = client.post(
        "/api/auth/login", json={"email": "claire@le-relais.test", "password": DEMO_PASSWORD}
    ).json()["token"]
    import datetime as dt

    today = dt.date.today()
    window = {"from": (today - dt.timedelta(days=200)).isoformat(), "to": today.isoformat()}
    relais = client.get(
        "/api/structures/chrs-le-relais/stats",
        params=window,
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert sum(t["meals"] for t in relais["canteen"]["by_tariff"]) > 50
    token = client.post(
        "/api/auth/login", json={"email": "sophie@les-tilleuls.test", "password": DEMO_PASSWORD}
    ).json()["token"]
    tilleuls = client.get(
        "/api/structures/ehpad-les-tilleuls/stats",
        params=window,
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    garden = next(a for a in tilleuls["assets"] if a["kind"] == "garden")
    assert garden["total"]["people"] >= 4 and garden["total"]["occupancy_percent"] > 0
