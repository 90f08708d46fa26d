"""Every text on every page goes through the catalogue, in every role.

Two walks over the same pages, like a crawler that follows links from each role's home
(bounded: one visit per kind of address), plus the forms' error states and the messages
after an action:

- pseudo-locale (``qps``): every visible text node and accessible name must sit inside
  ⟦…⟧; what is left outside may only be user data (names of people, structures, assets,
  dishes…), numbers, dates and punctuation;
- English: no French word may be left (accents, frequent French words), user data aside.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.api.canteen_fixtures import CANTEEN, TARIFFS, THURSDAY_MENU, setup_relais_canteen
from tests.browser.test_canteen_in_browser import tomorrow_menu
from tests.conftest import GARDEN, STRUCTURE_A, STRUCTURE_B, World
from tests.web.helpers import csrf_of, sign_in
from tierslieu import i18n
from tierslieu.services.clock import frozen

# --- reading a page as a person (and a screen reader) does -----------------------------------

SKIPPED = {"script", "style", "template"}
NAMED_ATTRIBUTES = ("aria-label", "alt", "title", "placeholder")


class _Texts(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.links: list[str] = []
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._skip = 0
        self._form: tuple[str, dict[str, str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag in SKIPPED:
            self._skip += 1
        for name in NAMED_ATTRIBUTES:
            if attributes.get(name):
                self.texts.append(attributes[name])
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        if tag == "form" and attributes.get("method", "get").lower() == "post":
            self._form = (attributes.get("action", ""), {})
            self.forms.append(self._form)
        if tag == "input" and self._form is not None and attributes.get("type") == "hidden":
            self._form[1][attributes.get("name", "")] = attributes.get("value", "")
        if tag == "input" and attributes.get("type") in ("submit", "button"):
            self.texts.append(attributes.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED and self._skip:
            self._skip -= 1
        if tag == "form":
            self._form = None

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.texts.append(data)


def read(html: str) -> _Texts:
    parser = _Texts()
    parser.feed(html)
    return parser


# --- what may stay outside the catalogue ------------------------------------------------------

NAMES_OF_PEOPLE = [
    "Sophie Bernard",
    "Lucas Moreau",
    "Cuisine",  # the kitchen account's display name
    "Claire Petit",
    "Nadia Haddad",
    "Jeanne Martin",
    "Karim Benali",
    "Mamadou Diallo",
    "Lucienne Roux",  # a resident booked by the staff
    "Administrateur",
    "admin",
]


def user_data() -> list[str]:
    """User data of the fixtures (longest first, so a name is removed before its parts)."""
    found: set[str] = set(NAMES_OF_PEOPLE)
    for record in (STRUCTURE_A, STRUCTURE_B, GARDEN, CANTEEN):
        for key in ("name", "address", "postcode", "commune", "description", "slug"):
            if record.get(key):
                found.add(str(record[key]))
    for code, tariff in TARIFFS.items():
        found.update({code, tariff["label"], tariff.get("description", "")})
    for item in THURSDAY_MENU["items"]:
        found.update({item["name"], item.get("description", "")})
    found.update({"tierslieu", "English", "Français", "GeoJSON", "CSV"})
    found.update({"Licence Ouverte / Open Licence 2.0", "Licence Ouverte", "ODbL"})
    return sorted((f for f in found if f), key=len, reverse=True)


USER_DATA = user_data()
EMAIL = re.compile(r"[\w.+-]+@[\w.-]+")
BRACKETED = re.compile(r"⟦[^⟦⟧]*⟧")
# Dates and times come from Babel (French forms in the pseudo-locale), not from the catalogue.
FRENCH_DATE_WORDS = re.compile(
    r"\b(lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|janvier|février|mars|avril|mai|"
    r"juin|juillet|août|septembre|octobre|novembre|décembre|janv|févr|avr|juil|sept|oct|nov|"
    r"déc|h|min|er|1er)\b",
    re.IGNORECASE,
)
ORDER_REF = re.compile(r"\b[0-9A-F]{6}\b")  # an order reference at the counter
SUSPENDED_CODE = re.compile(
    r"\b[A-Z]{2}(?:-[A-Z0-9]{4}){3}\b|…[A-Z0-9]{4}\b"
)  # voucher codes, hints


def without_user_data(text: str) -> str:
    text = EMAIL.sub(" ", text)
    for value in USER_DATA:
        text = text.replace(value, " ")
    return text


def outside_catalogue(text: str) -> str:
    """What of a pseudo-locale text is neither translated, user data, a date nor punctuation."""
    previous = None
    while previous != text:  # placeholders filled with translated texts nest the brackets
        previous, text = text, BRACKETED.sub(" ", text)
    text = without_user_data(text)
    text = SUSPENDED_CODE.sub(" ", text)
    text = ORDER_REF.sub(" ", text)
    text = FRENCH_DATE_WORDS.sub(" ", text)
    return "".join(c for c in text if c.isalpha())


FRENCH_MARKERS = re.compile(
    r"[éèàçêâîôûùëïœÉÈÀÇ]|\b(le|la|les|des|du|un|une|et|pour|avec|sur|dans|vous|votre|vos|"
    r"aucun|aucune|jour|jours|heure|heures|semaine|mois|oui|non)\b|réserv|créneau|connexion|"
    r"inscri|commande|annul|cantine|tableau|feuille|horaires|fermeture|tarif\b|bilan|équipe",
    re.IGNORECASE,
)


def french_left(text: str) -> list[str]:
    return FRENCH_MARKERS.findall(without_user_data(text))


# --- the walk -----------------------------------------------------------------------------

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
NOT_PAGES = (".ics", ".json", ".csv", ".xlsx", ".svg", ".geojson")
NOT_FOLLOWED = ("/api", "/static", "/langue", "/schema", "/flux", "/feeds")
# The printable day sheet and production sheet have their own walk (templates/bookings, kitchen).
SHEETS = re.compile(r"/feuille$")


def kind_of(url: str) -> str:
    """One visit per kind of address: ids and dates do not make a new page."""
    return DATE.sub("D", UUID.sub("ID", url.split("#")[0]))


def crawl(client: TestClient[Any], start: list[str], limit: int = 40) -> Iterator[tuple[str, str]]:
    seen: set[str] = set()
    queue = list(start)
    while queue and len(seen) < limit:
        url = queue.pop(0).split("#")[0]
        key = kind_of(url)
        if key in seen:
            continue
        seen.add(key)
        response = client.get(url)
        assert response.status_code < 500, f"GET {url}: {response.status_code}"
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        yield url, response.text
        for href in read(response.text).links:
            path = href.split("?")[0].split("#")[0]
            if (
                href.startswith("/")
                and not href.startswith("//")
                and not path.endswith(NOT_PAGES)
                and not path.startswith(NOT_FOLLOWED)
                and not SHEETS.search(path)
                and kind_of(href) not in seen
            ):
                queue.append(href)


# Forms whose empty submission shows an error state (never a destructive button).
ERROR_STATE_ACTIONS = re.compile(
    r"/connexion$|/inscription$|/reserver$|/mot-de-passe$|/mon-compte/supprimer$|/membres$|"
    r"/tarifs$|/tarifs-personnes$|/regles$|/fermetures$|/services/nouveau$|/commander$|/import$"
)


def error_states(client: TestClient[Any], url: str, html: str) -> Iterator[tuple[str, str]]:
    page = read(html)
    done: set[str] = set()
    for action, hidden in page.forms:
        if not ERROR_STATE_ACTIONS.search(action) or kind_of(action) in done:
            continue
        done.add(kind_of(action))
        fresh = client.get(url)
        data = {**hidden, "_csrf_token": csrf_of(fresh.text)}
        response = client.post(action, data=data, follow_redirects=True)
        if "text/html" in response.headers.get("content-type", ""):
            yield f"POST {action} (empty)", response.text


def _post(client: TestClient[Any], page_url: str, action: str, data: dict[str, Any]) -> str:
    csrf = csrf_of(client.get(page_url).text)
    response = client.post(action, data={**data, "_csrf_token": csrf}, follow_redirects=True)
    assert response.status_code < 500, f"POST {action}: {response.status_code}"
    return response.text


def _done(html: str, marker: str) -> str:
    assert marker in html and "flash-error" not in html and 'role="alert"' not in html, html
    return html


def after_actions(
    client: TestClient[Any], role: str, world: World, scene: dict[str, Any]
) -> Iterator[tuple[str, str]]:
    """Pages right after an action (the one-time message is a text too), and the error page."""
    canteen = f"/cantine/{scene['canteen']['id']}"
    yield "not found", client.get("/ressources/00000000-0000-0000-0000-000000000000").text
    if role == "anonymous":
        return
    yield "new feed link", _post(client, "/mes-reservations", "/mes-reservations/abonnement", {})
    if role == "neighbour":
        garden = f"/ressources/{world.garden['id']}"
        slot = re.search(r'name="slot" value="([^"]+)"(?! disabled)', client.get(garden).text)
        assert slot, "no free slot on the garden page"
        yield (
            "booked",
            _post(client, garden, f"{garden}/reserver", {"slot": slot.group(1), "party_size": "1"}),
        )
    if role == "admin":  # the professional has already ordered in the scene
        service = scene["service"]
        curry = next(i for i in service["items"] if i["name"].startswith("Curry"))
        data = {
            "service_id": service["id"],
            f"qty-{curry['id']}": "1",
            "pickup_window_id": service["pickup_windows"][1]["id"],
        }
        yield "ordered", _done(_post(client, canteen, f"{canteen}/commander", data), 'class="ref"')
    if role == "staff":
        board = "/structures/ehpad-les-tilleuls/tableau"
        yield (
            "staff feed link",
            _post(client, board, "/structures/ehpad-les-tilleuls/calendrier-equipe", {}),
        )
    if role == "manager":  # the social team gives pay-it-forward meals
        counter = f"/structures/chrs-le-relais/cantine/{scene['canteen']['id']}"
        once = re.search(r'name="once" value="([^"]*)"', client.get(counter + "/").text)
        data = {"label": "Lucienne Roux", "once": once.group(1) if once else ""}
        yield (
            "voucher given",
            _done(_post(client, counter + "/", f"{counter}/bons", data), "voucher-code"),
        )
    yield "signed out", _post(client, "/", "/deconnexion", {})


# --- the people -------------------------------------------------------------------------------


def roles(world: World, chef: Any) -> dict[str, tuple[str | None, list[str]]]:
    """Role → (e-mail to sign in with, start pages)."""
    garden = f"/ressources/{world.garden['id']}"
    return {
        "anonymous": (None, ["/", garden, "/connexion", "/inscription", "/confidentialite"]),
        "neighbour": (world.neighbour.email, ["/", "/mes-reservations", "/mon-compte", garden]),
        "professional": (world.professional.email, ["/", "/mes-reservations", "/mon-compte"]),
        "staff": (world.staff_a.email, ["/", "/structures/ehpad-les-tilleuls/tableau"]),
        "manager": (
            world.manager_b.email,
            ["/", "/structures/chrs-le-relais/tableau", "/structures/chrs-le-relais/equipe/"],
        ),
        "manager_a": (world.manager_a.email, ["/structures/ehpad-les-tilleuls/tableau"]),
        "kitchen": (chef.email, ["/", "/structures/chrs-le-relais/tableau"]),
        "admin": (world.admin.email, ["/", "/mon-compte"]),
    }


@pytest.fixture
def scene(client: TestClient[Any], world: World) -> dict[str, Any]:
    """The world with a canteen menu for tomorrow, an order, a resident booked by the staff
    (residents have no account: the staff books for them) and a garden booking today."""
    chef, asset, service = setup_relais_canteen(client, world, tomorrow_menu())
    curry = next(i for i in service["items"] if i["name"].startswith("Curry"))
    order = client.post(
        "/api/meal-orders",
        json={
            "service_id": service["id"],
            "lines": [{"item_id": curry["id"], "quantity": 2}],
            "pickup_window_id": service["pickup_windows"][0]["id"],
            "suspended_meals": 1,
        },
        headers=world.professional.headers,
    )
    assert order.status_code == 201, order.text
    paid = client.post(  # a paid order fills the pay-it-forward pool
        f"/api/meal-orders/{order.json()['id']}/status",
        json={"status": "ready", "paid": True},
        headers=chef.headers,
    )
    assert paid.status_code == 200, paid.text
    rule = {
        "weekdays": [1, 2, 3, 4, 5, 6, 7],
        "start_time": "00:00",
        "end_time": "23:00",
        "valid_from": dt.date.today().isoformat(),
        "slot_minutes": 60,
    }
    response = client.post(
        f"/api/assets/{world.garden['id']}/availability", json=rule, headers=world.staff_a.headers
    )
    assert response.status_code == 201, response.text
    today = dt.date.today()
    slots = client.get(
        f"/api/assets/{world.garden['id']}/slots",
        params={"from": today.isoformat(), "to": (today + dt.timedelta(days=2)).isoformat()},
    ).json()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    first = next(s for s in slots if dt.datetime.fromisoformat(s["starts_at"]) > later)
    for who, body in (
        (world.staff_a, {"guest": {"name": "Lucienne Roux", "phone": "0600000000"}}),
        (world.neighbour, {}),
    ):
        response = client.post(
            "/api/bookings",
            json={
                "asset_id": world.garden["id"],
                "starts_at": first["starts_at"],
                "ends_at": first["ends_at"],
                "party_size": 2,
                **body,
            },
            headers=who.headers,
        )
        assert response.status_code == 201, response.text
    # Walk the pages while the booking is under way: the attendance buttons show.
    starts = dt.datetime.fromisoformat(first["starts_at"])
    return {
        "chef": chef,
        "canteen": asset,
        "service": service,
        "now": starts + dt.timedelta(minutes=10),
    }


def walk(client: TestClient[Any], world: World, scene: dict[str, Any], lang: str):
    """(role, where, html) of every page of every role, with the forms' error states."""
    with frozen(scene["now"]):
        yield from _walk(client, world, scene, lang)


def _walk(client: TestClient[Any], world: World, scene: dict[str, Any], lang: str):
    for role, (email, start) in roles(world, scene["chef"]).items():
        client.cookies.clear()
        client.get(f"/langue/{lang}?next=/")
        if email is not None:
            sign_in(client, email)
        start = [*start, f"/cantine/{scene['canteen']['id']}"]
        for url, html in list(crawl(client, start)):
            yield role, url, html
            for where, state in error_states(client, url, html):
                yield role, where, state
        for where, html in after_actions(client, role, world, scene):
            yield role, where, html


@pytest.fixture
def pseudo() -> Iterator[None]:
    i18n.enable_pseudo()
    yield
    i18n.enable_pseudo(False)


def test_every_text_of_every_page_goes_through_the_catalogue(client, world, scene, pseudo):
    problems: dict[str, set[str]] = {}
    pages = set()
    for role, where, html in walk(client, world, scene, i18n.PSEUDO):
        pages.add(kind_of(where))
        assert "⟦" in html, f"{role} {where}: the pseudo-locale is not on"
        for text in read(html).texts:
            if outside_catalogue(text):
                problems.setdefault(text.strip(), set()).add(f"{role} {where}")
    assert len(pages) >= 20, sorted(pages)
    report = "\n".join(f"{t!r}  ({sorted(w)[0]})" for t, w in sorted(problems.items()))
    assert not problems, f"texts outside the catalogue:\n{report}"


def test_english_pages_hold_no_french(client, world, scene):
    problems: dict[str, set[str]] = {}
    for role, where, html in walk(client, world, scene, "en"):
        for text in read(html).texts:
            if french_left(text):
                problems.setdefault(text.strip(), set()).add(f"{role} {where}")
    report = "\n".join(f"{t!r}  ({sorted(w)[0]})" for t, w in sorted(problems.items()))
    assert not problems, f"French left on English pages:\n{report}"


def test_attendance_buttons_are_named_without_a_middle_dot(client, world, scene):
    """Screen readers speak « absent point e »: the accessible names are neutral words."""
    sign_in(client, world.staff_a.email)
    with frozen(scene["now"]):
        board = client.get("/structures/ehpad-les-tilleuls/tableau").text
    names = [t for t in read(board).texts if t.startswith(("Noter la présence", "Noter l'absence"))]
    assert "Noter l'absence : Lucienne Roux" in names
    assert "Noter la présence : Jeanne Martin" in names
    assert not [t for t in names if "·" in t]
