"""A person's own order: cancelled from its confirmation page, after a confirmation page
(audit §1 « no cancel button here », §8.11 « confirmation before destructive actions »)."""

from __future__ import annotations

import html

from tests.browser.test_canteen_in_browser import tomorrow_menu
from tests.scenarios.relais import setup_relais_canteen
from tests.web.helpers import post_form, sign_in


def test_cancelling_my_order_asks_first_from_the_confirmation_page(client, world):
    _chef, asset, service = setup_relais_canteen(client, world, tomorrow_menu())
    sign_in(client, world.professional.email)
    curry = next(i for i in service["items"] if i["name"].startswith("Curry"))
    window = next(w for w in service["pickup_windows"] if w["starts_at"][11:16] == "12:15")
    placed = post_form(
        client,
        f"/cantine/{asset['id']}",
        f"/cantine/{asset['id']}/commander",
        {"service_id": service["id"], f"qty-{curry['id']}": "1", "pickup_window_id": window["id"]},
    )
    assert placed.status_code == 303
    confirmation = placed.headers["location"]
    order_id = confirmation.rsplit("/", 1)[1]
    assert f'href="/mes-commandes/{order_id}/annuler"' in client.get(confirmation).text
    asked = html.unescape(client.get(f"/mes-commandes/{order_id}/annuler").text)
    assert "Annuler cette commande ?" in asked
    assert "1 × Curry de légumes, riz basmati" in asked
    assert "de 12 h 15 à 12 h 30" in asked
    done = post_form(
        client, f"/mes-commandes/{order_id}/annuler", f"/mes-commandes/{order_id}/annuler", {}
    )
    assert done.status_code == 303
    shown = html.unescape(client.get(confirmation).text)
    assert "Commande annulée : rien à régler." in shown
    assert f"/mes-commandes/{order_id}/annuler" not in shown
    assert "calendrier.ics" not in shown
