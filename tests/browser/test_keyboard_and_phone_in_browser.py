"""The brief's scenario 1 done with the keyboard only (Tab, Enter, Space, arrows, typing; no
mouse), scenario 3 on a 390 px phone, and « Se connecter pour réserver » keeping the slot."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from sqlalchemy import update

from tests.browser.conftest import check_page, local_now, off_loop, open_garden_daily, sign_in
from tests.browser.test_canteen_in_browser import tomorrow_menu
from tests.conftest import PASSWORD, run_db
from tests.scenarios.relais import setup_relais_canteen
from tierslieu.models import Booking
from tierslieu.templating import long_date

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips every test here, with the reason
    expect = None

EHPAD = "/structures/ehpad-les-tilleuls"

# The text a person (or a screen reader) gets from the focused element.
FOCUSED_TEXT = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return "";
  return ((e.getAttribute("aria-label") || "") + " " + (e.textContent || "")).replace(/\\s+/g, " ");
}"""


class Keyboard:
    """Moves through a page as a keyboard user does: Tab until the wanted control has the
    focus (failing if it never gets it), then keys."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.day_first = True
        self.clock_24h = True

    def tab_until(self, predicate: str, arg: Any = None, what: str = "", limit: int = 250) -> None:
        for _ in range(limit):
            self.page.keyboard.press("Tab")
            if self.page.evaluate(predicate, arg):
                return
        raise AssertionError(f"never reached with Tab: {what or arg or predicate}")

    def tab_to_id(self, element_id: str) -> None:
        self.tab_until("i => document.activeElement && document.activeElement.id === i", element_id)

    def tab_to_text(self, text: str) -> None:
        self.tab_until(f"t => ({FOCUSED_TEXT})().includes(t)", text)

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)

    def go(self) -> None:
        """Enter on the focused link or form, and wait for the page it leads to."""
        with self.page.expect_navigation():
            self.page.keyboard.press("Enter")

    def type(self, value: str) -> None:
        self.page.keyboard.type(value)

    def learn_fields(self) -> None:
        """How this Chromium's date and time fields take typed digits: day or month first,
        24-hour or AM/PM (they follow the machine's locale, not the page's)."""
        self.page.set_content('<input type="date" id="d"><input type="time" id="t">')
        self.tab_to_id("d")
        self.type("02012027")
        self.day_first = self.page.eval_on_selector("#d", "e => e.value") == "2027-01-02"
        self.tab_to_id("t")
        self.type("0900")  # a 12-hour field stays empty until AM or PM is typed
        self.clock_24h = self.page.eval_on_selector("#t", "e => e.value") == "09:00"

    def type_date(self, day: dt.date) -> None:
        order = "%d%m%Y" if self.day_first else "%m%d%Y"
        self.type(day.strftime(order))

    def type_time(self, hour: int, minute: int = 0) -> None:
        if self.clock_24h:
            self.type(f"{hour:02d}{minute:02d}")
        else:
            twelve = hour % 12 or 12
            self.type(f"{twelve:02d}{minute:02d}{'P' if hour >= 12 else 'A'}")


def next_tuesday(after: dt.date) -> dt.date:
    return after + dt.timedelta(days=(1 - after.weekday()) % 7 or 7)


def test_scenario_1_by_keyboard_only(page, server, world, settings):
    """Sophie opens the garden on Tuesdays and Saturdays, books Tuesday 10 h for Mme Martin
    (2 places) on the phone, prints Tuesday's sheet from the week agenda, then marks the
    no-show — without touching the mouse."""
    keys = Keyboard(page)
    keys.learn_fields()
    today = local_now().date()
    tuesday = next_tuesday(today)

    page.goto("/")
    keys.press("Tab")
    expect(page.get_by_role("link", name="Aller au contenu")).to_be_focused()
    keys.tab_to_text("Se connecter")
    keys.go()
    keys.tab_to_id("f-email")
    keys.type(world.manager_a.email)
    keys.tab_to_id("f-password")
    keys.type(PASSWORD)
    keys.go()
    expect(page.get_by_role("status")).to_contain_text("Bienvenue")

    # The opening rule: Tuesday and Saturday, 9 h–12 h, 1-hour slots, 8 places.
    keys.tab_to_text("Tableau de bord — EHPAD Les Tilleuls")
    keys.go()
    keys.tab_to_text("Horaires et fermetures — Jardin des Tilleuls")
    keys.go()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Horaires")
    for weekday in ("wd-2", "wd-6"):
        keys.tab_to_id(weekday)
        keys.press("Space")
    keys.tab_to_id("f-start_time")
    keys.type_time(9)
    keys.tab_to_id("f-end_time")
    keys.type_time(12)
    keys.tab_to_id("f-valid_from")
    keys.type_date(today)
    keys.tab_to_id("f-valid_until")
    keys.type_date(today + dt.timedelta(days=60))
    keys.tab_to_id("f-slot_minutes")
    keys.type("60")
    keys.tab_to_id("f-capacity")
    keys.type("8")
    keys.go()
    expect(page.get_by_role("status")).to_contain_text("Règle ajoutée")

    # Mme Martin phones: Tuesday 10 h, 2 places, booked on her behalf.
    keys.tab_to_text("Tableau de bord — EHPAD Les Tilleuls")
    keys.go()
    keys.tab_to_text("Réserver pour quelqu'un — Jardin des Tilleuls")
    keys.go()
    day_block = page.locator(".day").filter(
        has=page.get_by_role("heading", name=long_date(tuesday), exact=True)
    )
    target = day_block.get_by_label(re.compile(r"\b10 h 00 – 11 h 00"))
    target_id = target.get_attribute("id")
    keys.tab_until("() => document.activeElement.name === 'slot'", what="the slot list")
    for _ in range(60):  # one tab stop for the group, arrows inside it
        if page.evaluate("() => document.activeElement.id") == target_id:
            break
        keys.press("ArrowDown")
    keys.press("Space")
    expect(target).to_be_checked()
    keys.tab_to_id("f-party_size")
    keys.press("Control+A")
    keys.type("2")
    keys.tab_to_id("f-guest_name")
    keys.type("Mme Martin")
    keys.tab_to_id("f-guest_phone")
    keys.type("01 48 00 00 00")
    keys.tab_until(
        "() => document.activeElement.type === 'submit'"
        " && document.activeElement.form.getAttribute('action').endsWith('/reserver')",
        what="« Réserver »",
    )
    keys.go()
    expect(page).to_have_url(re.compile(rf"{EHPAD}/tableau$"))
    expect(page.get_by_role("status")).to_contain_text("Mme Martin")

    # Tuesday's sheet, from the week agenda, whatever day it is today.
    keys.tab_to_text("Agenda de la semaine")
    keys.go()
    if tuesday.isocalendar()[:2] != today.isocalendar()[:2]:
        keys.tab_to_text("Semaine suivante")
        keys.go()
    keys.tab_to_text(f"Feuille à imprimer — Jardin des Tilleuls, {long_date(tuesday)}")
    keys.go()
    main = page.locator("main")
    expect(main).to_contain_text("Mme Martin")
    expect(main).to_contain_text("10 h 00 – 11 h 00")
    expect(page.get_by_role("button", name="Imprimer")).to_be_visible()

    # Tuesday comes and Mme Martin does not: the booking is moved to the current hour.
    now = dt.datetime.now(dt.UTC)

    async def _arrive(session):
        await session.execute(
            update(Booking)
            .where(Booking.guest_name == "Mme Martin")
            .values(starts_at=now - dt.timedelta(minutes=1), ends_at=now + dt.timedelta(minutes=59))
        )
        await session.commit()

    off_loop(run_db, settings, _arrive)
    keys.tab_to_text("Retour au tableau de bord")
    keys.go()
    keys.tab_to_text("Noter l'absence : Mme Martin")
    keys.go()
    expect(page.get_by_role("status")).to_contain_text("Présence enregistrée.")
    row = page.get_by_role("row").filter(has_text="Mme Martin").first
    expect(row).to_contain_text("absent·e")


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{page.url} scrolls sideways at {width[1]} px: {width[0]}"


def within_screen(locator: Any, width: int = 390) -> None:
    box = locator.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, box


def test_scenario_3_on_a_390px_phone(page, server, world, client):
    """Karim orders Thursday's vegetarian dish without sesame, the 12 h 15 pickup and one
    repas suspendu, on a phone: nothing off to the side, the amount to pay on screen."""
    page.set_viewport_size({"width": 390, "height": 844})
    chef, asset, _service = setup_relais_canteen(client, world, tomorrow_menu())
    # A second day, so that the page offers its day picker.
    later = tomorrow_menu()
    later_day = (local_now() + dt.timedelta(days=2)).date().isoformat()
    later = json.loads(json.dumps(later).replace(later["date"], later_day))
    published = client.post(
        f"/api/assets/{asset['id']}/meal-services", json=later, headers=chef.headers
    )
    assert published.status_code == 201, published.text
    tomorrow = (local_now() + dt.timedelta(days=1)).date()
    sign_in(page, world.professional.email, PASSWORD)
    page.goto("/?kind=canteen")
    no_sideways_scroll(page)
    page.get_by_role("link", name="Voir les menus — Cantine du Relais").click()
    days = page.get_by_role("navigation", name="Jours de service")
    within_screen(days.get_by_role("link", name=long_date(tomorrow)))
    days.get_by_role("link", name=long_date(tomorrow)).click()
    page.get_by_label("sans sésame").check()
    page.get_by_label("végétarien", exact=True).check()
    page.get_by_role("button", name="Filtrer les plats").click()
    no_sideways_scroll(page)
    expect(page.get_by_role("heading", name=re.compile("Curry de légumes"))).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Falafels"))).to_have_count(0)
    check_page(page, "cantine-jour-390", show=".service-days")
    order_form = page.locator("section.service > form").first
    order_form.get_by_label("Quantité : Curry de légumes, riz basmati").fill("1")
    order_form.get_by_label(re.compile(r"12 h 15 – 12 h 30")).check()
    order_form.get_by_label("Repas suspendus offerts (facultatif)").fill("1")
    send = order_form.get_by_role("button", name="Commander", exact=True)
    send.scroll_into_view_if_needed()
    within_screen(send)
    send.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Commande enregistrée")
    to_pay = page.get_by_text("À régler au comptoir : 15,50 €")
    expect(to_pay).to_be_in_viewport()
    expect(page.get_by_role("main")).to_contain_text("12 h 15 – 12 h 30")
    no_sideways_scroll(page)
    check_page(page, "cantine-confirmation-390")


def test_signing_in_to_book_keeps_the_slot_chosen(page, server, world):
    tomorrow = open_garden_daily(server, world)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/ressources/{world.garden['id']}")
    check_page(page, "ressource-390", show="#reserver")
    day_block = page.locator(".day").filter(
        has=page.get_by_role("heading", name=long_date(tomorrow), exact=True)
    )
    day_block.get_by_label(re.compile(r"\b11 h 00 – 12 h 00")).check()
    page.get_by_label("Nombre de personnes").fill("2")
    page.get_by_label("Note pour l'équipe (facultatif)").fill("Avec ma voisine")
    page.get_by_role("button", name="Se connecter pour réserver").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    page.get_by_label("Adresse e-mail").fill(world.neighbour.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()

    # Back on the garden, the choice kept, one press from booked.
    kept = page.locator("#choix-garde")
    expect(kept).to_contain_text("Votre choix est gardé")
    expect(kept).to_be_in_viewport()
    slot = (
        page.locator(".day")
        .filter(has=page.get_by_role("heading", name=long_date(tomorrow), exact=True))
        .get_by_label(re.compile(r"\b11 h 00 – 12 h 00"))
    )
    expect(slot).to_be_checked()
    expect(page.get_by_label("Nombre de personnes")).to_have_value("2")
    expect(page.get_by_label("Note pour l'équipe (facultatif)")).to_have_value("Avec ma voisine")
    check_page(page, "ressource-choix-garde", show="#reserver")
    page.get_by_role("button", name="Réserver").click()
    expect(page.get_by_role("status")).to_contain_text("Réservation confirmée")
    expect(page.get_by_role("status")).to_contain_text(f"{long_date(tomorrow)}, 11 h 00")
