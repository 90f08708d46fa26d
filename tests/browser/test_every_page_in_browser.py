"""Every page of every role, measured in Chromium: contrast of each visible control
(WCAG 1.4.3, 4.5:1, computed from the styles, because axe only marks link-style buttons
« needs review ») and reflow at 390 px and 320 px (WCAG 1.4.10: no page scrolls sideways).

One server and one world for all roles; failures are collected over every page and reported
together, so one run lists everything that needs fixing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.browser.conftest import api_book, local_now, open_garden_daily, sign_in
from tests.browser.test_canteen_in_browser import tomorrow_menu
from tests.conftest import PASSWORD
from tests.scenarios.relais import RELAIS, setup_relais_canteen

# Text/background contrast of every visible control. The effective background is the first
# ancestor (or the control itself) with an opaque background colour; a control whose own
# background is transparent takes its parent's. Semi-transparent layers are blended.
CONTRAST_JS = r"""
() => {
  const parse = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return [0, 0, 0, 0];
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const blend = (top, under) => {
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a)).concat([1]);
  };
  const background = (el) => {
    const layers = [];
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let colour = [255, 255, 255, 1];
    for (let i = layers.length - 1; i >= 0; i--) colour = blend(layers[i], colour);
    return colour;
  };
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 1 && r.height > 1 && s.visibility !== "hidden" && s.display !== "none"
      && el.closest("[hidden], details:not([open]) > :not(summary)") === null;
  };
  const out = [];
  const controls = document.querySelectorAll(
    "button, a.button, input:not([type=hidden]):not([type=radio]):not([type=checkbox]), select, textarea, summary");
  for (const el of controls) {
    if (!visible(el)) continue;
    const s = getComputedStyle(el);
    const bg = background(el);
    const fg = blend(parse(s.color), bg);
    const l1 = lum(fg), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const label = (el.innerText || el.value || el.getAttribute("aria-label") || el.name || el.tagName).trim().slice(0, 60);
    out.push({label, ratio: Math.round(ratio * 100) / 100, color: s.color, background: `rgb(${bg.slice(0, 3).join(",")})`});
  }
  return out;
}
"""

OVERFLOW_JS = r"""
() => {
  const wide = [];
  const limit = window.innerWidth;
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.right > limit + 1 && r.width > 0) {
      let inside = false;
      for (let p = el.parentElement; p; p = p.parentElement) {
        const o = getComputedStyle(p).overflowX;
        if (o === "auto" || o === "scroll" || o === "hidden") { inside = true; break; }
      }
      if (!inside) wide.push(el.tagName.toLowerCase() + (el.className ? "." + String(el.className).split(" ").join(".") : "") + " right=" + Math.round(r.right));
    }
  }
  // Controls pushed off to the right (even inside a box that scrolls) are out of reach.
  const away = [];
  for (const el of document.querySelectorAll("button, a.button, input:not([type=hidden]), select, textarea")) {
    const r = el.getBoundingClientRect();
    if (r.width > 1 && r.height > 1 && r.right > limit + 1 && getComputedStyle(el).visibility !== "hidden") {
      away.push((el.innerText || el.value || el.name || el.tagName).trim().replace(/\s+/g, " ").slice(0, 50));
    }
  }
  return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth, wide: wide.slice(0, 5), away: away.slice(0, 5)};
}
"""


def _measure(page: Any, where: str, problems: list[str]) -> None:
    page.goto(where)
    page.wait_for_load_state()
    assert page.url.split("?")[0].rstrip("/").endswith(where.split("?")[0].rstrip("/")), (
        f"{where} redirected to {page.url}"
    )
    for control in page.evaluate(CONTRAST_JS):
        if control["ratio"] < 4.5:
            problems.append(
                f"contrast {control['ratio']}:1 < 4.5 on {where}: « {control['label']} » "
                f"({control['color']} on {control['background']})"
            )
    for width in (390, 320):
        page.set_viewport_size({"width": width, "height": 800})
        found = page.evaluate(OVERFLOW_JS)
        if found["scroll"] > found["inner"]:
            problems.append(
                f"sideways scroll at {width} px on {where}: scrollWidth {found['scroll']} "
                f"> {found['inner']} ({', '.join(found['wide'])})"
            )
        if found["away"]:
            problems.append(
                f"controls out of reach at {width} px on {where}: {', '.join(found['away'])}"
            )
    page.set_viewport_size({"width": 1280, "height": 900})


def _sign_out(page: Any) -> None:
    page.context.clear_cookies()


def test_every_control_is_legible_and_no_page_scrolls_sideways(page, server, world, client):
    tomorrow = open_garden_daily(server, world)
    garden = world.garden["id"]
    ehpad = "ehpad-les-tilleuls"
    # A booking for the neighbour (her list; « Annuler » on the staff dashboard) ...
    booked = api_book(server, world.neighbour, garden, tomorrow, 10, 2)
    assert booked.status_code == 201, booked.text
    # ... a closure (its « Supprimer »), a person tariff (« Revenir au tarif par défaut »).
    later = local_now().date() + dt.timedelta(days=40)
    response = client.post(
        f"/api/assets/{garden}/closures",
        json={"starts_on": later.isoformat(), "ends_on": later.isoformat(), "reason": "Travaux"},
        headers=world.manager_a.headers,
    )
    assert response.status_code == 201, response.text
    closure_id = response.json()["closure"]["id"]
    chef, canteen, service = setup_relais_canteen(client, world, tomorrow_menu())
    response = client.put(
        f"/api/structures/{RELAIS}/tariff-assignments/{world.neighbour.id}",
        json={"code": "solidaire"},
        headers=world.manager_b.headers,
    )
    assert response.status_code == 200, response.text
    # Karim orders with a repas suspendu; paid at the counter, it becomes a voucher to give.
    item = service["items"][0]
    response = client.post(
        "/api/meal-orders",
        json={
            "service_id": service["id"],
            "lines": [{"item_id": item["id"], "quantity": 1}],
            "pickup_window_id": service["pickup_windows"][0]["id"],
            "suspended_meals": 1,
        },
        headers=world.professional.headers,
    )
    assert response.status_code == 201, response.text
    order = response.json()
    response = client.post(
        f"/api/meal-orders/{order['id']}/status", json={"paid": True}, headers=chef.headers
    )
    assert response.status_code == 200, response.text
    response = client.post(
        f"/api/structures/{RELAIS}/suspended-meals/vouchers",
        json={"label": "M. Ali"},
        headers=world.staff_b.headers,
    )
    assert response.status_code == 201, response.text
    service_id = service["id"]
    kitchen = f"/structures/{RELAIS}/cantine/{canteen['id']}/"

    roles: list[tuple[str, str | None, list[str]]] = [
        (
            "anonymous",
            None,
            [
                "/",
                "/connexion",
                "/inscription",
                f"/ressources/{garden}",
                f"/cantine/{canteen['id']}",
            ],
        ),
        (
            "neighbour",
            world.neighbour.email,
            [
                "/",
                f"/ressources/{garden}",
                f"/cantine/{canteen['id']}",
                "/mes-reservations",
                "/mon-compte",
            ],
        ),
        ("professional", world.professional.email, [f"/mes-commandes/{order['id']}"]),
        (
            "manager of the EHPAD",
            world.manager_a.email,
            [
                f"/structures/{ehpad}/tableau",
                f"/structures/{ehpad}/equipe",
                f"/structures/{ehpad}/ressources/{garden}/horaires",
                f"/structures/{ehpad}/ressources/{garden}/feuille?date={tomorrow.isoformat()}",
                f"/structures/{ehpad}/bilan",
                f"/structures/{ehpad}/agenda?du={tomorrow.isoformat()}",
                f"/structures/{ehpad}/reservations/{booked.json()['id']}/annuler",
                f"/structures/{ehpad}/ressources/{garden}/horaires/fermetures/{closure_id}/supprimer",
                f"/structures/{ehpad}/equipe/membres/{world.staff_a.id}/retirer",
            ],
        ),
        (
            "staff of the CHRS",
            world.staff_b.email,
            [f"/structures/{RELAIS}/tableau", kitchen],
        ),
        (
            "kitchen of the CHRS",
            chef.email,
            [
                kitchen,
                f"{kitchen}services/nouveau",
                f"{kitchen}services/{service_id}/feuille",
            ],
        ),
        ("manager of the CHRS", world.manager_b.email, [f"/structures/{RELAIS}/equipe"]),
    ]
    problems: list[str] = []
    for _role, email, paths in roles:
        _sign_out(page)
        if email:
            sign_in(page, email, PASSWORD)
        for path in paths:
            _measure(page, path, problems)
    assert not problems, "\n".join(problems)
