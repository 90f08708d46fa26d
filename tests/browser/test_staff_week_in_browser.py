"""Scenario 1, the week part, in Chromium: from the dashboard to the week agenda, Tuesday's
sheet printed on any day (a way back, a print button), a cancellation that asks first, and a
form error that takes the focus. Screenshots of the new pages go to tests/screenshots/."""

from __future__ import annotations

import datetime as dt
import re

from tests.browser.conftest import api_book, check_page, local_now, open_garden_daily, sign_in
from tests.conftest import PASSWORD

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips every test here, with the reason
    expect = None

EHPAD = "/structures/ehpad-les-tilleuls"


def test_scenario_1_the_week_agenda_the_sheet_of_any_day_and_confirmations(page, server, world):
    open_garden_daily(server, world)
    day = local_now().date() + dt.timedelta(days=5)
    booked = api_book(server, world.neighbour, world.garden["id"], day, 10, 2)
    assert booked.status_code == 201, booked.text
    sign_in(page, world.manager_a.email, PASSWORD)
    page.goto(f"{EHPAD}/tableau")
    check_page(page, "tableau-de-bord")
    page.get_by_role("link", name=re.compile("Agenda de la semaine")).click()
    if day.isocalendar()[1] != local_now().date().isocalendar()[1]:
        page.get_by_role("link", name="Semaine suivante").click()
    day_section = page.locator("section.agenda-day").filter(
        has=page.get_by_role("heading", name=re.compile(re.escape(_long(day))))
    )
    expect(day_section).to_contain_text("Jeanne Martin")
    check_page(page, "agenda-semaine", show="section.agenda-day:has(table)")

    # Phone: the booking is a card, its « Annuler » within the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    cancel = day_section.get_by_role("link", name=re.compile("^Annuler — Jeanne Martin"))
    box = cancel.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390
    cancel.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Annuler cette réservation ?")
    check_page(page, "confirmation-annulation")
    page.get_by_role("link", name="Non, revenir").click()
    expect(page).to_have_url(re.compile(r"/agenda\?semaine="))
    page.set_viewport_size({"width": 1280, "height": 900})

    # The sheet of that day, printed from its own page; and back.
    day_section.get_by_role("link", name=re.compile("Feuille à imprimer")).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Jardin des Tilleuls")
    expect(page.locator("main")).to_contain_text("Jeanne Martin")
    expect(page.get_by_role("button", name="Imprimer")).to_be_visible()
    check_page(page, "feuille-du-jour")
    page.get_by_label("Autre jour").fill((day + dt.timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Afficher").click()
    expect(page).to_have_url(re.compile(rf"date={(day + dt.timedelta(days=1)).isoformat()}"))
    page.get_by_role("link", name="Retour au tableau de bord").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Tableau de bord")
    # The dashboard's own day field opens any day's sheet.
    page.get_by_label(re.compile("Feuille d'un autre jour")).first.fill(day.isoformat())
    page.get_by_role("button", name=re.compile("Afficher la feuille")).first.click()
    expect(page.locator("main")).to_contain_text("Jeanne Martin")


def test_a_form_sent_with_errors_takes_the_focus_to_its_summary(page, server, world):
    sign_in(page, world.manager_a.email, PASSWORD)
    page.goto(f"{EHPAD}/ressources/{world.garden['id']}/horaires")
    page.get_by_label("mardi").check()
    page.get_by_role("button", name="Ajouter la règle").click()
    summary = page.locator("#probleme")
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()
    check_page(page, "horaires-erreurs", show="#probleme")
    first = summary.get_by_role("link").first
    target = first.get_attribute("href")
    first.click()
    expect(page.locator(target)).to_be_in_viewport()


def _long(day: dt.date) -> str:
    from tierslieu.templating import long_date

    return long_date(day)
