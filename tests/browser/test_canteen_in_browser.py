"""Scenarios 3 and 4 in a real browser: Karim orders lunch with filters, a pickup window
and a repas suspendu; the chef reads the sheet and works the counter; a social worker
gives the pooled meal as a voucher, which a person without an account uses."""

from __future__ import annotations

import copy
import datetime as dt
import re

from tests.browser.conftest import check_page, local_now, sign_in
from tests.conftest import PASSWORD
from tests.scenarios.relais import THURSDAY_MENU, setup_relais_canteen
from tierslieu.templating import long_date

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips every test here, with the reason
    expect = None


def tomorrow_menu() -> dict:
    day = (local_now() + dt.timedelta(days=1)).date().isoformat()
    menu = copy.deepcopy(THURSDAY_MENU)
    menu["date"] = day
    menu["order_cutoff"] = f"{day}T10:30:00"
    for window in menu["pickup_windows"]:
        window["starts_at"] = day + window["starts_at"][10:]
        window["ends_at"] = day + window["ends_at"][10:]
    return menu


def sign_out(page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("status")).to_contain_text("Vous êtes déconnecté·e.")


def test_scenarios_3_and_4_lunch_order_kitchen_and_voucher(page, server, world, client):
    chef, asset, _service = setup_relais_canteen(client, world, tomorrow_menu())

    # Scenario 3: Karim, professional, orders a vegetarian dish without sesame.
    sign_in(page, world.professional.email, PASSWORD)
    page.goto("/?kind=canteen")
    page.get_by_role("link", name="Voir les menus — Cantine du Relais").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Cantine du Relais")
    expect(page.get_by_text(re.compile(r"Commande possible jusqu'au .* 10 h 30"))).to_be_visible()
    page.get_by_label("sans sésame").check()
    page.get_by_label("végétarien", exact=True).check()
    page.get_by_role("button", name="Filtrer les plats").click()
    expect(page.get_by_role("heading", name=re.compile("Curry de légumes"))).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Falafels"))).to_have_count(0)
    expect(page.get_by_role("heading", name=re.compile("Poulet"))).to_have_count(0)
    expect(page.get_by_text("Votre prix : 9,50 € (tarif Professionnel)").first).to_be_visible()
    expect(page.get_by_text("Allergènes : Céleri")).to_be_visible()
    check_page(page, "cantine-menus")
    order_form = page.locator("section.service > form").first
    order_form.get_by_label("Quantité : Curry de légumes, riz basmati").fill("1")
    order_form.get_by_label(re.compile(r"12 h 15 – 12 h 30")).check()
    order_form.get_by_label("Repas suspendus offerts (facultatif)").fill("1")
    order_form.get_by_role("button", name="Commander", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Commande enregistrée")
    main = page.get_by_role("main")
    expect(main).to_contain_text("1 × Curry de légumes, riz basmati")
    expect(main).to_contain_text("12 h 15 – 12 h 30")
    expect(main).to_contain_text("Professionnel")
    expect(main).to_contain_text("15,50 €")  # 9,50 € + one repas suspendu at 6,00 €
    ref = re.search(r"comptoir : (\w+)", main.inner_text()).group(1)
    check_page(page, "cantine-confirmation")
    sign_out(page)

    # The chef reads the production sheet and works the counter.
    sign_in(page, chef.email, PASSWORD)
    page.goto("/structures/chrs-le-relais/tableau")
    page.get_by_role("link", name="Cuisine et comptoir — Cantine du Relais").click()
    check_page(page, "cantine-comptoir")
    row = page.get_by_role("row").filter(has_text=ref)
    expect(row).to_contain_text("Karim Benali")
    row.get_by_role("button", name=f"Marquer payée — {ref}").click()
    expect(page.get_by_role("status")).to_contain_text("Commande mise à jour.")
    page.get_by_role("row").filter(has_text=ref).get_by_role(
        "button", name=f"Prête — {ref}"
    ).click()
    expect(page.get_by_role("row").filter(has_text=ref)).to_contain_text("prête")
    page.get_by_role("link", name=re.compile("Fiche de production")).first.click()
    expect(page.locator("body")).to_contain_text("Curry de légumes")
    expect(page.locator("body")).to_contain_text("12 h 15")  # one time format (UX §7.13)
    check_page(page, "cantine-feuille-de-production")
    page.go_back()
    sign_out(page)

    # Scenario 4: a social worker gives the pooled meal; the person orders with the code.
    sign_in(page, world.staff_b.email, PASSWORD)
    page.goto("/structures/chrs-le-relais/tableau")
    page.get_by_role("link", name="Cuisine et comptoir — Cantine du Relais").click()
    expect(page.get_by_text("Repas disponibles dans la réserve : 1")).to_be_visible()
    page.get_by_label("Pour qui (note interne, facultatif)").fill("M. Ali, suivi par Nadia")
    page.get_by_role("button", name="Donner un repas suspendu").click()
    status = page.get_by_role("status")
    expect(status).to_contain_text("Code à remettre à la personne")
    code = status.inner_text().rsplit(":", 1)[1].strip().split()[0]
    expect(page.get_by_text("Repas disponibles dans la réserve : 0")).to_be_visible()
    sign_out(page)

    page.goto(f"/cantine/{asset['id']}")
    page.get_by_text("J'ai un bon de repas suspendu").click()
    voucher_form = page.locator("details.voucher form")
    voucher_form.get_by_label("Poulet basquaise").check()
    voucher_form.get_by_label(re.compile(r"12 h 30 – 12 h 45")).check()
    voucher_form.get_by_label("Code du bon").fill(code)
    voucher_form.get_by_label("Votre prénom").fill("Ali")
    check_page(page, "cantine-bon")
    voucher_form.get_by_role("button", name="Commander avec ce bon").click()
    expect(page.get_by_role("status")).to_contain_text("Commande enregistrée, référence")
    expect(page.get_by_role("status")).to_contain_text("1 × Poulet basquaise")
    # The same code cannot be used twice.
    page.get_by_text("J'ai un bon de repas suspendu").click()
    voucher_form = page.locator("details.voucher form")
    voucher_form.get_by_label("Poulet basquaise").check()
    voucher_form.get_by_label(re.compile(r"12 h 30 – 12 h 45")).check()
    voucher_form.get_by_label("Code du bon").fill(code)
    voucher_form.get_by_label("Votre prénom").fill("Ali")
    voucher_form.get_by_role("button", name="Commander avec ce bon").click()
    expect(page.get_by_role("alert")).to_be_visible()


def test_the_chef_publishes_a_menu(page, server, world, client):
    chef, asset, _service = setup_relais_canteen(client, world, tomorrow_menu())
    sign_in(page, chef.email, PASSWORD)
    page.goto(f"/structures/chrs-le-relais/cantine/{asset['id']}/")
    page.get_by_role("link", name="Publier un menu").click()
    check_page(page, "cantine-editeur-menu")
    day = (local_now() + dt.timedelta(days=2)).date()
    page.get_by_label("Date du service").fill(day.isoformat())
    page.get_by_role("button", name="Publier un menu").click()
    expect(page.get_by_role("alert")).to_be_visible()  # no dish yet
    dish = page.get_by_role("group", name="Plat 1", exact=True)
    dish.get_by_label("Nom du plat").fill("Lasagnes aux épinards")
    dish.get_by_label("Portions").fill("30")
    dish.get_by_label("Céréales contenant du gluten").check()
    dish.get_by_label("Lait").check()
    dish.get_by_label("végétarien", exact=True).check()
    dish.get_by_label("Prix « Professionnel » (€)").fill("9,50")
    dish.get_by_label("Prix « Habitant » (€)").fill("6")
    page.get_by_role("button", name="Publier un menu").click()
    expect(page.get_by_role("status")).to_contain_text("Menu publié.")
    page.goto(f"/cantine/{asset['id']}?regime=vegetarian")
    # One day at a time: the day picker leads to the new menu, the filter kept.
    page.get_by_role("navigation", name="Jours de service").get_by_role(
        "link", name=long_date(day)
    ).click()
    expect(page).to_have_url(re.compile(r"regime=vegetarian"))
    expect(page.get_by_role("heading", name=re.compile("Lasagnes aux épinards"))).to_be_visible()
    expect(page.get_by_text("Allergènes : Céréales contenant du gluten, Lait")).to_be_visible()
