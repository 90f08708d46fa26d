"""Scenarios of the brief, done by hand in a real browser (see conftest for the setup)."""

from __future__ import annotations

import datetime as dt
import re

import httpx
from sqlalchemy import update

from tests.browser.conftest import (
    api_book,
    check_page,
    local_now,
    off_loop,
    open_garden_daily,
    sign_in,
)
from tests.conftest import PASSWORD, run_db
from tierslieu.models import Booking

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips every test here, with the reason
    expect = None


def slot_label(day: dt.date, hour: int) -> re.Pattern[str]:
    return re.compile(rf"\b{hour} h 00 – {hour + 1} h 00")


def slot_radio(page, day: dt.date, hour: int):
    day_block = page.locator(".day").filter(
        has=page.get_by_role("heading", name=_long(day), exact=True)
    )
    return day_block.get_by_label(slot_label(day, hour))


def _long(day: dt.date) -> str:
    from tierslieu.templating import long_date

    return long_date(day)


def test_directory_filters_and_language(page, server, world):
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Annuaire des ressources")
    check_page(page, "annuaire")
    page.get_by_label("Commune").select_option("Bondy")
    page.get_by_label("Seulement les lieux accessibles en fauteuil roulant").check()
    page.get_by_role("button", name="Filtrer").click()
    expect(page.get_by_role("heading", name="Jardin des Tilleuls")).to_be_visible()
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Directory of resources")
    check_page(page, "directory-en")
    page.get_by_role("link", name="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.get_by_role("link", name="Se connecter").click()
    check_page(page, "connexion")
    page.goto("/ressources/00000000-0000-0000-0000-000000000000")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page introuvable")
    check_page(page, "introuvable")


def test_scenario_2_a_neighbour_registers_and_books_a_full_slot_says_so(page, server, world):
    tomorrow = open_garden_daily(server, world)
    # The 9:00 slot is full already; the 11:00 slot will fill while the page is open.
    full = api_book(server, world.staff_a, world.garden["id"], tomorrow, 9, 4, "Voisin")
    assert full.status_code == 201
    full = api_book(server, world.staff_a, world.garden["id"], tomorrow, 9, 4, "Voisin")
    assert full.status_code == 201

    page.goto("/inscription")
    check_page(page, "inscription")
    page.get_by_label("Votre nom").fill("Odette Lambert")
    page.get_by_label("Adresse e-mail").fill("odette@exemple.test")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_label("Habitant·e du quartier").check()
    page.get_by_role("button", name="Créer mon compte").click()
    # Registration answers alike for new and known addresses: then one signs in.
    expect(page.get_by_text("vous pouvez vous connecter dès maintenant")).to_be_visible()
    page.get_by_label("Adresse e-mail").fill("odette@exemple.test")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_text("Bienvenue, Odette !")).to_be_visible()

    page.goto(f"/ressources/{world.garden['id']}")
    check_page(page, "ressource")
    full = slot_radio(page, tomorrow, 9)
    expect(full).to_be_disabled()
    expect(
        page.locator(".day").filter(has_text=_long(tomorrow)).get_by_text("complet")
    ).to_be_visible()

    # Someone else takes the last places of 11:00 while Odette is choosing.
    slot_radio(page, tomorrow, 11).check()
    page.get_by_label("Nombre de personnes").fill("2")
    full = api_book(server, world.staff_a, world.garden["id"], tomorrow, 11, 4, "Voisin")
    assert full.status_code == 201
    full = api_book(server, world.staff_a, world.garden["id"], tomorrow, 11, 3, "Voisin")
    assert full.status_code == 201
    page.get_by_role("button", name="Réserver").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Créneau complet")
    expect(alert).to_contain_text("Il ne reste qu'une place sur ce créneau, vous en demandez 2.")
    check_page(page, "ressource-complet")

    slot_radio(page, tomorrow, 10).check()
    page.get_by_label("Nombre de personnes").fill("2")
    page.get_by_role("button", name="Réserver").click()
    expect(page).to_have_url(re.compile(r"/mes-reservations$"))
    expect(page.get_by_role("status")).to_contain_text("Réservation confirmée")
    expect(page.get_by_role("status")).to_contain_text(f"{_long(tomorrow)}, 10 h 00")
    check_page(page, "mes-reservations")


def test_keyboard_only_booking(page, server, world):
    tomorrow = open_garden_daily(server, world)
    sign_in(page, world.neighbour.email, PASSWORD)
    page.goto(f"/ressources/{world.garden['id']}")
    target = slot_radio(page, tomorrow, 10)
    target_id = target.get_attribute("id")

    def tab_to(predicate: str, limit: int = 200) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(predicate):
                return
        raise AssertionError(f"never reached by Tab: {predicate}")

    # The first Tab reaches the skip link, which is visible when focused.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Aller au contenu")).to_be_focused()
    # Into the slot group (the radio group is one tab stop), then arrows to the slot.
    tab_to("document.activeElement && document.activeElement.name === 'slot'")
    for _ in range(60):
        if page.evaluate("document.activeElement.id") == target_id:
            break
        page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.id") == target_id
    page.keyboard.press("Space")
    expect(target).to_be_checked()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused control must show where the focus is"
    tab_to("document.activeElement.id === 'f-party_size'")
    page.keyboard.press("Control+A")
    page.keyboard.type("1")
    tab_to(
        "document.activeElement.tagName === 'BUTTON' && document.activeElement.type === 'submit' && document.activeElement.closest('form').action.endsWith('/reserver')"
    )
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/mes-reservations$"))
    expect(page.get_by_role("status")).to_contain_text("Réservation confirmée")


def test_scenario_1_staff_book_on_behalf_print_the_sheet_mark_a_no_show(
    page, server, world, settings
):
    tomorrow = open_garden_daily(server, world)
    sign_in(page, world.manager_a.email, PASSWORD)
    page.get_by_role("link", name="Tableau de bord — EHPAD Les Tilleuls").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("EHPAD Les Tilleuls")
    check_page(page, "tableau-de-bord")
    page.get_by_role("link", name="Réserver pour quelqu'un — Jardin des Tilleuls").click()
    slot_radio(page, tomorrow, 10).check()
    page.get_by_label("Nombre de personnes").fill("2")
    page.get_by_label("Nom de la personne").fill("Mme Martin")
    page.get_by_label("Téléphone").fill("01 48 00 00 00")
    page.get_by_role("button", name="Réserver").click()
    expect(page).to_have_url(re.compile(r"/structures/ehpad-les-tilleuls/tableau$"))
    expect(page.get_by_role("status")).to_contain_text("Mme Martin")
    tomorrow_table = page.locator("section").filter(has_text="Demain").get_by_role("table")
    expect(tomorrow_table).to_contain_text("Mme Martin")
    expect(tomorrow_table).to_contain_text("01 48 00 00 00")

    # The printable sheet for the garden gate.
    page.get_by_role("link", name="Feuille de demain à imprimer — Jardin des Tilleuls").click()
    expect(page.locator("h1")).to_have_text("Jardin des Tilleuls")
    expect(page.locator("body")).to_contain_text("Mme Martin")
    expect(page.locator("body")).to_contain_text("10 h 00 – 11 h 00")
    expect(page.locator("body")).to_contain_text("2 / 8 places")
    check_page(page, "feuille-du-jour")

    # The day comes; Mme Martin does not: move the booking to the current hour.
    now = dt.datetime.now(dt.UTC)

    async def _arrive(session):
        await session.execute(
            update(Booking)
            .where(Booking.guest_name == "Mme Martin")
            .values(starts_at=now - dt.timedelta(minutes=1), ends_at=now + dt.timedelta(minutes=59))
        )
        await session.commit()

    off_loop(run_db, settings, _arrive)
    page.goto("/structures/ehpad-les-tilleuls/tableau")
    today_table = page.locator("section").filter(has_text="Aujourd'hui").get_by_role("table")
    expect(today_table).to_contain_text("Mme Martin")
    today_table.get_by_role("button", name="Noter l'absence : Mme Martin").click()
    expect(page.get_by_role("status")).to_contain_text("Présence enregistrée.")
    today_table = page.locator("section").filter(has_text="Aujourd'hui").get_by_role("table")
    expect(today_table.get_by_role("row").filter(has_text="Mme Martin")).to_contain_text("absent·e")

    # The staff feed: every booking of the structure, names included, in Sophie's calendar.
    page.get_by_role("button", name="Créer un nouveau lien d'abonnement").click()
    https_link = page.get_by_label("Adresse pour Google Agenda ou Outlook").input_value()
    assert "/ical/structures/ehpad-les-tilleuls/" in https_link
    feed = httpx.get(server + "/" + https_link.split("/", 3)[3])
    assert feed.status_code == 200 and "Mme Martin" in feed.text


def test_subscribe_links_and_rotation(page, server, world):
    tomorrow = open_garden_daily(server, world)
    assert api_book(server, world.neighbour, world.garden["id"], tomorrow, 10, 1).status_code == 201
    sign_in(page, world.neighbour.email, PASSWORD)
    page.goto("/mes-reservations")
    page.get_by_role("button", name="Créer un nouveau lien d'abonnement").click()
    https_link = page.get_by_label("Adresse pour Google Agenda ou Outlook").input_value()
    webcal_link = page.get_by_label("Adresse pour Calendrier Apple ou Thunderbird").input_value()
    assert https_link.startswith("http") and https_link.endswith(".ics")
    assert webcal_link.startswith("webcal://")
    assert webcal_link.split("://", 1)[1] == https_link.split("://", 1)[1]
    check_page(page, "abonnement-calendrier")
    path = "/" + https_link.split("/", 3)[3]
    feed = httpx.get(server + path)
    assert feed.status_code == 200
    assert "BEGIN:VCALENDAR" in feed.text and "Jardin des Tilleuls" in feed.text
    # The link is shown once.
    page.reload()
    expect(page.get_by_label("Adresse pour Google Agenda ou Outlook")).to_have_count(0)
    # A new link kills the old one.
    page.get_by_role("button", name="Créer un nouveau lien d'abonnement").click()
    assert httpx.get(server + path).status_code == 404
    # The .ics download of one booking.
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Ajouter à mon agenda")).first.click()
    assert download.value.suggested_filename.endswith(".ics")


def test_opening_rules_and_closures_editor(page, server, world):
    sign_in(page, world.staff_a.email, PASSWORD)
    page.goto("/structures/ehpad-les-tilleuls/tableau")
    page.get_by_role("link", name="Horaires et fermetures — Jardin des Tilleuls").click()
    check_page(page, "horaires")
    page.get_by_role("button", name="Ajouter la règle").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.locator("#f-weekdays-error")).to_be_visible()
    page.get_by_label("mardi").check()
    page.get_by_label("samedi").check()
    page.get_by_label("Début").fill("09:00")
    page.get_by_label("Fin").fill("12:00")
    page.get_by_label("Durée d'un créneau (en minutes, facultatif)").fill("60")
    page.get_by_role("button", name="Ajouter la règle").click()
    expect(page.get_by_role("status")).to_contain_text("Règle ajoutée.")
    expect(page.get_by_role("table")).to_contain_text("mardi, samedi")
    day = (local_now() + dt.timedelta(days=3)).date()
    page.get_by_label("Premier jour").fill(day.isoformat())
    page.get_by_label("Motif").fill("Plan canicule")
    page.get_by_role("button", name="Ajouter la fermeture").click()
    expect(page.get_by_role("status")).to_contain_text("Fermeture ajoutée.")
    expect(page.get_by_role("main")).to_contain_text("Plan canicule")
    # A closure calendar file (e.g. the training days exported from Outlook).
    start = (local_now() + dt.timedelta(days=10)).strftime("%Y%m%d")
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//FR\r\n"
        "BEGIN:VEVENT\r\nUID:formation-1@test\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART;VALUE=DATE:{start}\r\nSUMMARY:Formation du personnel\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    page.get_by_label("Fichier d'agenda (.ics)").set_input_files(
        files=[{"name": "fermetures.ics", "mimeType": "text/calendar", "buffer": ics.encode()}]
    )
    page.get_by_role("button", name="Importer", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("1 fermeture créée")
    expect(page.get_by_role("main")).to_contain_text("Formation du personnel")


def test_text_grows_to_200_percent_without_horizontal_scrolling(page, server, world):
    open_garden_daily(server, world)
    sign_in(page, world.staff_a.email, PASSWORD)
    for url in (
        "/",
        f"/ressources/{world.garden['id']}",
        "/mes-reservations",
        "/structures/ehpad-les-tilleuls/tableau",
    ):
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(url)
            page.evaluate("document.documentElement.style.fontSize = '200%'")
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 1, f"{url} at {width} px with 200 % text scrolls sideways"
            small = page.evaluate(
                """() => [...document.querySelectorAll(
                      'button, a.button, input[type=radio], input[type=checkbox], select, '
                      + 'input[type=text], input[type=number]')]
                    .filter(e => e.offsetParent !== null)
                    .map(e => e.closest('label.choice') || e)
                    .filter(e => e.getBoundingClientRect().height < 44)
                    .map(e => e.outerHTML.slice(0, 80))"""
            )
            assert not small, f"touch targets under 44 px on {url}: {small[:3]}"


def test_manager_members_and_tariffs(page, server, world):
    sign_in(page, world.manager_a.email, PASSWORD)
    page.goto("/structures/ehpad-les-tilleuls/tableau")
    page.get_by_role("link", name="Équipe et tarifs").click()
    check_page(page, "equipe-et-tarifs")
    page.get_by_label("Adresse e-mail", exact=True).fill("inconnu@exemple.test")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Personne inconnue")
    page.get_by_label("Adresse e-mail", exact=True).fill(world.professional.email)
    page.get_by_label("Rôle").select_option("staff")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Équipe mise à jour.")
    expect(page.get_by_role("row").filter(has_text="Karim Benali")).to_contain_text("équipe")
    page.get_by_label("Nom court du tarif").fill("habitant")
    page.get_by_label("Nom affiché").fill("Habitant")
    page.get_by_label("habitants").check()
    page.get_by_role("button", name="Enregistrer le tarif").click()
    expect(page.get_by_role("status")).to_contain_text("Tarif enregistré.")
    expect(page.get_by_role("main")).to_contain_text(
        "Habitant — tarif appliqué d'office aux habitants"
    )
