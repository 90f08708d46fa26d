"""The one label catalogue: each value of a closed vocabulary, as a French msgid.

``label(lang, table, value)`` is the label of ``value`` in ``lang``; an unknown value is
shown as it is (a code added to the database before its label). Labels are written in
lower case where they are read inside a sentence (« réservation confirmée ») and with a
capital where they are read on their own (a dish kind, an allergen); ``capitalized``
gives the first letter a capital for a cell or a heading.

Tables: status (booking), order_status, asset_kind, structure_kind, audience, role,
person_kind, dish_kind, allergen, without (an allergen filter: « sans … »), diet,
stats_kind, meal.
"""

from __future__ import annotations

from collections.abc import Iterable

from tierslieu import i18n
from tierslieu.i18n import N_

TABLES: dict[str, dict[str, str]] = {
    "status": {
        "pending": N_("en attente de validation"),
        "confirmed": N_("confirmée"),
        "cancelled": N_("annulée"),
        "declined": N_("refusée"),
        "attended": N_("venu·e"),
        "no_show": N_("absent·e"),
        "waitlisted": N_("sur liste d'attente"),
    },
    "order_status": {
        "placed": N_("commandée"),
        "confirmed": N_("confirmée"),
        "ready": N_("prête"),
        "collected": N_("retirée"),
        "cancelled": N_("annulée"),
        "no_show": N_("non retirée"),
    },
    "asset_kind": {
        "garden": N_("Jardin"),
        "canteen": N_("Cantine"),
        "room": N_("Salle"),
        "workshop": N_("Atelier"),
        "equipment": N_("Matériel"),
    },
    "structure_kind": {
        "ehpad": N_("EHPAD"),
        "chrs": N_("CHRS"),
        "centre_social": N_("Centre social"),
        "association": N_("Association"),
        "mairie": N_("Mairie"),
        "other": N_("Autre"),
    },
    "audience": {
        "residents": N_("résidents"),
        "neighbours": N_("habitants du quartier"),
        "professionals": N_("professionnels"),
        "public": N_("tout public"),
    },
    "role": {
        "manager": N_("responsable"),
        "staff": N_("équipe"),
        "kitchen": N_("cuisine"),
    },
    "person_kind": {
        "neighbour": N_("habitants"),
        "professional": N_("professionnels"),
    },
    "dish_kind": {
        "starter": N_("Entrée"),
        # « Plat » alone is also « dish »: the kind is the main course.
        "main": N_("Plat principal"),
        "dessert": N_("Dessert"),
        "formula": N_("Formule"),
        "drink": N_("Boisson"),
    },
    "allergen": {
        "gluten": N_("Céréales contenant du gluten"),
        "crustaceans": N_("Crustacés"),
        "eggs": N_("Œufs"),
        "fish": N_("Poissons"),
        "peanuts": N_("Arachides"),
        "soybeans": N_("Soja"),
        "milk": N_("Lait"),
        "nuts": N_("Fruits à coque"),
        "celery": N_("Céleri"),
        "mustard": N_("Moutarde"),
        "sesame": N_("Graines de sésame"),
        "sulphites": N_("Anhydride sulfureux et sulfites"),
        "lupin": N_("Lupin"),
        "molluscs": N_("Mollusques"),
    },
    # An allergen filter (« without »), distinct from the gluten-free diet (UX §7.14).
    "without": {
        "gluten": N_("sans céréales contenant du gluten"),
        "crustaceans": N_("sans crustacés"),
        "eggs": N_("sans œufs"),
        "fish": N_("sans poisson"),
        "peanuts": N_("sans arachides"),
        "soybeans": N_("sans soja"),
        "milk": N_("sans lait"),
        "nuts": N_("sans fruits à coque"),
        "celery": N_("sans céleri"),
        "mustard": N_("sans moutarde"),
        "sesame": N_("sans sésame"),
        "sulphites": N_("sans sulfites"),
        "lupin": N_("sans lupin"),
        "molluscs": N_("sans mollusques"),
    },
    "diet": {
        "vegetarian": N_("végétarien"),
        "vegan": N_("végétalien"),
        "halal": N_("halal"),
        "no_pork": N_("sans porc"),
        "gluten_free": N_("sans gluten"),
        "texture_modified": N_("texture modifiée"),
    },
    "stats_kind": {
        "neighbour": N_("Habitants"),
        "resident": N_("Résidents"),
        "professional": N_("Professionnels"),
        "guest": N_("Invités (sans compte)"),
    },
    "meal": {"lunch": N_("Déjeuner"), "dinner": N_("Dîner")},
}


def label(lang: str, table: str, value: str) -> str:
    """The label of ``value`` in ``lang`` (the value itself when it has none)."""
    msgid = TABLES.get(table, {}).get(str(value))
    return i18n.gettext(lang, msgid) if msgid is not None else str(value)


def labels(lang: str, table: str, values: Iterable[str]) -> list[str]:
    return [label(lang, table, v) for v in values]


def capitalized(text: str) -> str:
    """First letter upper case, the rest untouched (« sans porc » → « Sans porc »)."""
    for index, char in enumerate(text):
        if char.isalpha():
            return text[:index] + char.upper() + text[index + 1 :]
    return text


def joined(lang: str, table: str, values: Iterable[str]) -> str:
    """Labels of ``values`` as one list, « a, b, c »."""
    return ", ".join(labels(lang, table, values))
