"""Scenario 7 in a real browser: the EHPAD manager opens the « Bilan », picks the period,
sees each chart with its table, downloads the CSV and the XLSX; the figures are the hand
count of tests/api/stats_fixtures.py. Then the print layout, and the CHRS canteen."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from tests.api.stats_fixtures import build_known_months
from tests.browser.conftest import check_page, off_loop, sign_in
from tests.conftest import PASSWORD

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips every test here, with the reason
    expect = None


def test_scenario_7_bilan_charts_tables_and_downloads(page, server, world, settings):
    off_loop(build_known_months, settings, world)
    sign_in(page, world.manager_a.email, PASSWORD)
    page.goto("/structures/ehpad-les-tilleuls/tableau")
    page.get_by_role("link", name="Bilan — EHPAD Les Tilleuls", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bilan — EHPAD Les Tilleuls")
    page.get_by_label("Du", exact=True).fill("2026-02-01")
    page.get_by_label("Au", exact=True).fill("2026-03-31")
    page.get_by_label("Regrouper par").select_option("month")
    page.get_by_role("button", name="Afficher").click()
    expect(page.locator("p.period")).to_contain_text("31 mars 2026")

    # Each chart is drawn (an SVG image that loaded) and has its data table beside it.
    charts = page.locator("section.chart img")
    expect(charts).to_have_count(3)
    for index in range(3):
        image = charts.nth(index)
        image.scroll_into_view_if_needed()
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
        )
    occupancy = page.get_by_role(
        "table", name="Données du graphique : Taux d'occupation par période (%)"
    )
    expect(occupancy.get_by_role("row", name="2026-03 4,7")).to_be_visible()
    people = page.get_by_role(
        "table", name="Données du graphique : Personnes différentes par période"
    )
    expect(people.get_by_role("row", name="2026-03 5")).to_be_visible()
    expect(people.get_by_role("row", name="2026-02 1")).to_be_visible()
    expect(page.get_by_role("button", name="Imprimer")).to_be_visible()
    check_page(page, "bilan")

    with page.expect_download() as got:
        page.get_by_role("link", name="Télécharger (CSV)").click()
    raw = Path(got.value.path()).read_bytes()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    header, march = rows[0], next(r for r in rows if r[1] == "2026-03")
    cell = dict(zip(header, march, strict=True))
    assert (cell["Personnes différentes"], cell["Réservations"], cell["Places"]) == ("5", "7", "9")
    assert (cell["Venues"], cell["Absences"], cell["Annulations"], cell["dont tardives"]) == (
        "4", "1", "2", "1",
    )  # fmt: skip
    assert (cell["Heures d'utilisation"], cell["Taux d'occupation (%)"]) == ("4", "4,7")
    assert cell["Du"] == "01/03/2026"

    with page.expect_download() as got:
        page.get_by_role("link", name="Télécharger (Excel)").click()
    assert got.value.suggested_filename.endswith(".xlsx")
    with zipfile.ZipFile(Path(got.value.path())) as book:
        assert 'name="Réservations"' in book.read("xl/workbook.xml").decode()

    # « Imprimer »: the print layout keeps the title, the period, charts and tables only.
    page.emulate_media(media="print")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("p.period")).to_be_visible()
    expect(page.get_by_role("button", name="Afficher")).to_be_hidden()
    expect(page.get_by_role("link", name="Télécharger (CSV)")).to_be_hidden()
    assert page.pdf(format="A4")[:4] == b"%PDF"
    page.emulate_media(media="screen")


def test_scenario_7_canteen_bilan(page, server, world, settings):
    off_loop(build_known_months, settings, world)
    sign_in(page, world.manager_b.email, PASSWORD)
    page.goto("/structures/chrs-le-relais/bilan?from=2026-02-01&to=2026-03-31&group=month")
    meals = page.get_by_role("table", name="Données du graphique : Repas par tarif")
    expect(meals.get_by_role("row", name="2026-03 2 1 1")).to_be_visible()
    suspended = page.get_by_role("table", name="Données du graphique : Repas suspendus")
    expect(suspended.get_by_role("row", name="2026-03 1 1 3")).to_be_visible()
    expect(page.get_by_text("Couscous")).to_be_visible()
    check_page(page, "bilan-cantine")
