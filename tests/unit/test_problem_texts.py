"""Every refusal, sheet and feed text goes through the catalogue, in the reader's language.

The pseudo-locale wraps each translated text in ⟦…⟧: a problem whose title or detail is
not entirely inside the brackets shows a text that escaped gettext. In English, no French
word may show, except inside parameters that are the users' own data.
"""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from types import SimpleNamespace
from typing import Any

import pytest

from tierslieu import i18n, labels, templating
from tierslieu.errors import DomainError, problem_classes, render_problem
from tierslieu.services import canteen_sheet, feeds

PARIS = "Europe/Paris"
NOON = dt.datetime(2026, 12, 1, 11, 0, tzinfo=dt.UTC)  # 12 h 00 in Paris, 1er décembre

# User data (names people typed) is neutral English-looking text, so the English check
# below can look at the whole message.
SAMPLE: dict[str, Any] = {
    "remaining": 2,
    "requested": 3,
    "audience": ["residents", "neighbours"],
    "status": "cancelled",
    "max_advance_days": 30,
    "min_notice_minutes": 60,
    "reason": "Maintenance",
    "item": "Curry",
    "starts": NOON,
    "cutoff": NOON,
    "tz": PARIS,
    "other": "Standard",
    "kind": "neighbour",
    "tariff": "standard",
    "max": 10,
    "limit": 20,
    "max_days": 366,
    "minutes": 5,
    "slug": "oak-house",
    "email": "sam@oak.test",
    "name": "Mme Martin",
    "structures": "Oak House",
    "earliest": dt.date(2000, 1, 1),
    "latest": dt.date(2031, 12, 1),
    "limit_kb": 512,
    "tzids": "Mars/Olympus",
    "hint": "K7QZ",
    "seconds": "30",
    "max_party_size": 8,
}
# Second samples: the other branch of a detail (none left, no reason, a coded reason).
VARIANTS: list[dict[str, Any]] = [
    {"remaining": 0},
    {"remaining": 1},
    {"reason": ""},
    {"reason": "not-utf8"},
    {"minutes": 1},
    {"status": "placed"},
]

CLASSES = problem_classes()
CODES = [c.code for c in CLASSES]


def _bracketed(text: str) -> bool:
    """``text`` is one ⟦…⟧ (brackets nested inside are parameters)."""
    if not (text.startswith("⟦") and text.endswith("⟧")):
        return False
    depth = 0
    for index, char in enumerate(text):
        depth += {"⟦": 1, "⟧": -1}.get(char, 0)
        if depth == 0 and index != len(text) - 1:
            return False
    return depth == 0


def _outside_brackets(text: str) -> str:
    out, depth = [], 0
    for char in text:
        if char == "⟦":
            depth += 1
        elif char == "⟧":
            depth -= 1
        elif depth == 0:
            out.append(char)
    return "".join(out)


@pytest.fixture
def pseudo():
    i18n.enable_pseudo()
    yield i18n.PSEUDO
    i18n.enable_pseudo(False)


def test_every_code_is_named_once():
    assert len(CODES) == len(set(CODES)), sorted(c for c in CODES if CODES.count(c) > 1)
    for cls in CLASSES:
        assert cls.title and cls.detail and cls.status >= 400, cls


def test_titles_with_different_meanings_are_different_texts():
    titles = {cls.code: cls.title for cls in CLASSES}
    assert titles["slot-full"] != titles["pickup-window-full"]
    assert len({titles[c] for c in ("not-cancellable", "order-not-cancellable")}) == 2
    assert titles["cancel-cutoff-passed"] != titles["not-cancellable"]
    assert labels.TABLES["dish_kind"]["main"] != "Plat"


@pytest.mark.parametrize("cls", CLASSES, ids=CODES)
def test_every_problem_is_entirely_translated_in_the_pseudo_locale(pseudo, cls):
    for params in [SAMPLE, *({**SAMPLE, **v} for v in VARIANTS)]:
        title, detail = render_problem(cls, pseudo, params)
        assert _bracketed(title), (cls.code, title)
        assert _bracketed(detail), (cls.code, detail)
        assert "{" not in detail, (cls.code, detail)


# French that cannot appear in English text (accents, articles, frequent words).
FRENCH = re.compile(
    r"[éèêàçùôûîœ«»]|\b(le|la|les|des|une|du|au|aux|est|sont|pour|avec|sur|dans|vous|"
    r"votre|cette|ce|réservation|créneau|jours?|heures?)\b",
    re.IGNORECASE,
)


@pytest.mark.parametrize("cls", CLASSES, ids=CODES)
def test_every_problem_reads_in_english(cls):
    for params in [SAMPLE, *({**SAMPLE, **v} for v in VARIANTS)]:
        title, detail = render_problem(cls, "en", params)
        for text in (title, detail):
            found = FRENCH.search(text)
            assert found is None, (cls.code, found and found.group(0), text)
            assert "(s)" not in text and "{" not in text, (cls.code, text)


def test_field_messages_read_in_english():
    for code in i18n.FIELD_MESSAGES:
        text = i18n.field_message(code, "en", {"n": 3, "value": "x", "expected": "int"})
        assert FRENCH.search(text) is None, (code, text)


def test_problem_parameters_are_formatted_for_the_reader():
    """Codes become labels, instants are read in the structure's zone: no « annulée » in English."""
    _, en = render_problem("order-not-cancellable", "en", {"status": "cancelled"})
    assert en == "This order is cancelled: it can no longer be cancelled."
    _, fr = render_problem("order-not-cancellable", "fr", {"status": "cancelled"})
    assert fr == "Cette commande est annulée : elle ne s'annule plus."
    _, fr = render_problem("pickup-window-full", "fr", {"starts": NOON, "tz": PARIS})
    assert "12 h 00" in fr
    _, fr = render_problem("order-cutoff-passed", "fr", {"cutoff": NOON, "tz": PARIS})
    assert "mardi 1er décembre 2026, 12 h 00" in fr
    _, en = render_problem("audience-not-allowed", "en", {"audience": ["residents", "public"]})
    assert en == "This asset is open to: residents, everyone."


def test_counts_use_real_plurals():
    assert render_problem("slot-full", "fr", {"remaining": 0, "requested": 1})[1] == (
        "Ce créneau vient d'être complet."
    )
    assert render_problem("slot-full", "fr", {"remaining": 1, "requested": 2})[1] == (
        "Il ne reste qu'une place sur ce créneau, vous en demandez 2."
    )
    assert render_problem("slot-full", "en", {"remaining": 3, "requested": 4})[1] == (
        "Only 3 places are left in this slot; you asked for 4."
    )
    assert "1 minute." in render_problem("too-many-attempts", "fr", {"minutes": 1})[1]
    assert render_problem("sold-out", "fr", {"item": "Curry", "remaining": 1})[1] == (
        "« Curry » : il ne reste qu'une portion."
    )


def test_french_long_date_says_1er():
    assert templating.long_date(dt.date(2026, 12, 1)) == "mardi 1er décembre 2026"
    assert templating.long_date(dt.date(2027, 4, 1)) == "jeudi 1er avril 2027"
    assert templating.long_date(dt.date(2026, 12, 11)) == "vendredi 11 décembre 2026"
    assert templating.long_date(dt.date(2026, 12, 1), "en") == "Tuesday, 1 December 2026"


# --- sheets and feeds ------------------------------------------------------------------------


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[str] = []

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.nodes.append(data.strip())


def _escaped(html: str, allowed: list[str]) -> list[str]:
    """Text nodes with words outside ⟦…⟧, once user data and formatted values are removed."""
    parser = _Text()
    parser.feed(html)
    bad = []
    for node in parser.nodes:
        rest = _outside_brackets(node)
        for value in sorted(allowed, key=len, reverse=True):
            rest = rest.replace(value, "")
        rest = re.sub(r"\b\d+ h \d\d\b", "", rest)  # « 10 h 00 »
        if re.search(r"[^\W\d_]", rest):
            bad.append(node)
    return bad


def _day_sheet(lang: str) -> str:
    structure = SimpleNamespace(name="Oak House", timezone=PARIS)
    asset = SimpleNamespace(name="Garden", structure=structure)

    def entry(status: str) -> Any:
        booking = SimpleNamespace(status=status, party_size=2, note="Walker")
        return SimpleNamespace(booking=booking, person_name="Sam Lee", person_phone="0102")

    blocks = [
        SimpleNamespace(
            starts_at=NOON,
            ends_at=NOON + dt.timedelta(hours=1),
            capacity=8,
            places_taken=4,
            entries=[entry("confirmed"), entry("no_show")],
        ),
        SimpleNamespace(
            starts_at=NOON + dt.timedelta(hours=1),
            ends_at=NOON + dt.timedelta(hours=2),
            capacity=1,
            places_taken=0,
            entries=[],
        ),
    ]
    return templating.render_day_sheet(asset, blocks, NOON.date(), NOON, lang)


def _kitchen_data(diet: str = "Végétalien") -> dict[str, Any]:
    local = NOON.astimezone(dt.timezone(dt.timedelta(hours=1)))
    order = {
        "id": "1",
        "reference": "C-1",
        "name": "Sam Lee",
        "guest": False,
        "status": "no_show",
        "status_label": "",
        "paid": True,
        "total_cents": 950,
        "tariff": "standard",
        "tariff_label": "Standard",
        "voucher": True,
        "suspended_meals": 2,
        "note": "Walker",
        "lines": [{"item_id": "i", "name": "Curry", "quantity": 1, "allergens": ["celery"]}],
    }
    return {
        "service": {
            "id": "s",
            "date": "2026-12-01",
            "meal": "lunch",
            "order_cutoff": local.isoformat(),
            "asset": "Canteen",
            "structure": "Oak House",
        },
        "generated_at": local.isoformat(),
        "items": [
            {
                "id": "i",
                "name": "Curry",
                "kind": "main",
                "kind_label": "",
                "portions": 10,
                "ordered": 1,
                "remaining": 9,
                "allergens": [],
                "diets": [],
                "withdrawn": True,
            }
        ],
        "pickup_windows": [
            {
                "id": "w",
                "starts_at": local.isoformat(),
                "ends_at": (local + dt.timedelta(minutes=15)).isoformat(),
                "label": "12:00–12:15",
                "capacity": 10,
                "taken": 1,
                "orders": [order],
            },
            {
                "id": "w2",
                "starts_at": local.isoformat(),
                "ends_at": local.isoformat(),
                "label": "",
                "capacity": 1,
                "taken": 0,
                "orders": [],
            },
        ],
        "allergens_to_watch": [{"code": "celery", "label": "", "portions": 1, "items": ["Curry"]}],
        "diets": [{"code": "vegan", "label": diet, "portions": 3}],
        "notes": [
            {
                "reference": "C-1",
                "name": "Sam Lee",
                "window": "12:00",
                "window_starts_at": local.isoformat(),
                "note": "Walker",
            }
        ],
        "tariffs": [
            {
                "code": "standard",
                "label": "Standard",
                "orders": 1,
                "portions": 1,
                "amount_cents": 950,
                "paid_cents": 950,
            }
        ],
        "suspended_meals": {"paid_forward": 2, "vouchers_redeemed": 1},
        "totals": {"orders": 1, "portions": 1, "amount_cents": 950, "paid_cents": 950},
    }


def _formatted(lang: str) -> list[str]:
    return [
        templating.long_date(NOON.date(), lang),
        templating.moment(NOON, lang, PARIS),
        templating.money(950, lang),
    ]


USER_DATA = ["Oak House", "Garden", "Sam Lee", "Walker", "Curry", "Standard", "Canteen", "C-1"]


def test_the_day_sheet_has_no_text_outside_the_catalogue(pseudo):
    html = _day_sheet(pseudo)
    assert _escaped(html, USER_DATA + _formatted(pseudo)) == []
    assert "⟦Aucune inscription.⟧" in html


def test_the_kitchen_sheet_has_no_text_outside_the_catalogue(pseudo):
    html = canteen_sheet.sheet_html(_kitchen_data(), pseudo)
    assert _escaped(html, USER_DATA + _formatted(pseudo)) == []


def test_the_sheets_read_in_english():
    day = _day_sheet("en")
    assert "12:00 – 13:00" in day and "4 / 8 places" in day and "0 / 1 place<" in day
    assert "(no-show)" in day and "Nobody has booked." in day
    kitchen = canteen_sheet.sheet_html(_kitchen_data("Vegan"), "en")
    for text in (day, kitchen):
        words = _escaped(text.replace("⟦", ""), [])  # every node, no bracket in English
        french = [w for w in words if FRENCH.search(w)]
        assert french == [], french


def test_the_french_sheets_write_times_one_way():
    day = _day_sheet("fr")
    assert "12 h 00 – 13 h 00" in day and "mardi 1er décembre 2026" in day
    assert "4 / 8 places" in day and "0 / 1 place<" in day
    kitchen = canteen_sheet.sheet_html(_kitchen_data(), "fr")
    assert "12 h 00 – 12 h 15" in kitchen and "12:00" not in kitchen
    assert "1 commande, 1 portion." in kitchen
    assert "(s)" not in kitchen and "(s)" not in day
    assert "Portions commandées par régime : Végétalien : 3 portions" in kitchen
    assert "+ 2 repas suspendus offerts" in kitchen


def _feed_objects() -> tuple[Any, Any, Any]:
    structure = SimpleNamespace(
        name="Oak House", address="1 Elm Road", postcode="75001", commune="Paris", timezone=PARIS
    )
    asset = SimpleNamespace(name="Garden")
    booking = SimpleNamespace(
        id="0190f0f0-0000-7000-8000-000000000001",
        status="cancelled",
        party_size=2,
        starts_at=NOON,
        ends_at=NOON + dt.timedelta(hours=1),
        updated_at=NOON,
        created_at=NOON,
        sequence=1,
        note="Walker",
    )
    return booking, asset, structure


def test_a_feed_event_is_entirely_translated(pseudo):
    booking, asset, structure = _feed_objects()
    for person in (None, ("Sam Lee", "0102", "sam@oak.test")):
        event = feeds.booking_event(booking, asset, structure, person=person, lang=pseudo)
        assert event.summary.startswith("⟦") and event.summary.endswith("⟧"), event.summary
        for line in event.description.split("\n"):
            assert _bracketed(line), line


def test_a_feed_event_reads_in_english():
    booking, asset, structure = _feed_objects()
    event = feeds.booking_event(
        booking, asset, structure, person=("Sam Lee", None, None), lang="en"
    )
    assert event.summary == "Cancelled — Garden — Sam Lee (2 people)"
    assert "Status: cancelled" in event.description
    assert FRENCH.search(event.description.replace("Oak House", "")) is None


def test_domain_errors_carry_codes_not_french_words():
    """A DomainError subclass without its own code would show another problem's texts."""
    for cls in CLASSES:
        assert issubclass(cls, DomainError)
        assert "_" not in cls.code and cls.code == cls.code.lower()


def test_a_refusal_on_one_line_has_no_capital_after_the_colon():
    from tierslieu.errors import one_line

    title, detail = render_problem("suspended-meals-pool-empty", "fr", {})
    line = one_line("fr", title, detail)
    assert line == (
        "Plus de repas suspendus : personne n'en a offert pour le moment, "
        "ou ils ont tous été donnés."
    )
    assert line.count("repas suspendus") == 1
    assert one_line("en", "Closed", "EHPAD closed") == "Closed: EHPAD closed"
