"""Interface texts of the web pages. Written in French; English beside, keyed by the French."""

from __future__ import annotations

from collections.abc import Callable

from babel.dates import get_day_names

from tierslieu import i18n

LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "asset_kind": {
        "garden": ("Jardin", "Garden"),
        "canteen": ("Cantine", "Canteen"),
        "room": ("Salle", "Room"),
        "workshop": ("Atelier", "Workshop"),
        "equipment": ("Matériel", "Equipment"),
    },
    "structure_kind": {
        "ehpad": ("EHPAD", "Nursing home (EHPAD)"),
        "chrs": ("CHRS", "Shelter (CHRS)"),
        "centre_social": ("Centre social", "Community centre"),
        "association": ("Association", "Association"),
        "mairie": ("Mairie", "Town hall"),
        "other": ("Autre", "Other"),
    },
    "status": {
        "pending": ("en attente de validation", "awaiting approval"),
        "confirmed": ("confirmée", "confirmed"),
        "cancelled": ("annulée", "cancelled"),
        "declined": ("refusée", "declined"),
        "attended": ("venu·e", "attended"),
        "no_show": ("absent·e", "no-show"),
    },
    "audience": {
        "residents": ("résidents", "residents"),
        "neighbours": ("habitants du quartier", "neighbours"),
        "professionals": ("professionnels", "professionals"),
        "public": ("tout public", "everyone"),
    },
    "role": {
        "manager": ("responsable", "manager"),
        "staff": ("équipe", "staff"),
        "kitchen": ("cuisine", "kitchen"),
    },
    "order_status": {
        "placed": ("commandée", "ordered"),
        "confirmed": ("confirmée", "confirmed"),
        "ready": ("prête", "ready"),
        "collected": ("retirée", "collected"),
        "cancelled": ("annulée", "cancelled"),
        "no_show": ("non retirée", "not collected"),
    },
}

LABELS["person_kind"] = {
    "neighbour": ("habitants", "neighbours"),
    "professional": ("professionnels", "professionals"),
}
LABELS["dish_kind"] = {
    "starter": ("Entrée", "Starter"),
    "main": ("Plat", "Main course"),
    "dessert": ("Dessert", "Dessert"),
    "formula": ("Formule", "Set menu"),
    "drink": ("Boisson", "Drink"),
}
LABELS["allergen"] = {
    "gluten": ("Céréales contenant du gluten", "Cereals containing gluten"),
    "crustaceans": ("Crustacés", "Crustaceans"),
    "eggs": ("Œufs", "Eggs"),
    "fish": ("Poissons", "Fish"),
    "peanuts": ("Arachides", "Peanuts"),
    "soybeans": ("Soja", "Soybeans"),
    "milk": ("Lait", "Milk"),
    "nuts": ("Fruits à coque", "Nuts"),
    "celery": ("Céleri", "Celery"),
    "mustard": ("Moutarde", "Mustard"),
    "sesame": ("Graines de sésame", "Sesame seeds"),
    "sulphites": ("Anhydride sulfureux et sulfites", "Sulphur dioxide and sulphites"),
    "lupin": ("Lupin", "Lupin"),
    "molluscs": ("Mollusques", "Molluscs"),
}
LABELS["without"] = {
    "gluten": ("sans gluten (céréales)", "without gluten (cereals)"),
    "crustaceans": ("sans crustacés", "without crustaceans"),
    "eggs": ("sans œufs", "without eggs"),
    "fish": ("sans poisson", "without fish"),
    "peanuts": ("sans arachides", "without peanuts"),
    "soybeans": ("sans soja", "without soybeans"),
    "milk": ("sans lait", "without milk"),
    "nuts": ("sans fruits à coque", "without nuts"),
    "celery": ("sans céleri", "without celery"),
    "mustard": ("sans moutarde", "without mustard"),
    "sesame": ("sans sésame", "without sesame"),
    "sulphites": ("sans sulfites", "without sulphites"),
    "lupin": ("sans lupin", "without lupin"),
    "molluscs": ("sans mollusques", "without molluscs"),
}
LABELS["diet"] = {
    "vegetarian": ("végétarien", "vegetarian"),
    "vegan": ("végétalien", "vegan"),
    "halal": ("halal", "halal"),
    "no_pork": ("sans porc", "no pork"),
    "gluten_free": ("sans gluten", "gluten-free"),
    "texture_modified": ("texture modifiée", "texture-modified"),
}


def weekdays(lang: str) -> list[str]:
    """Monday to Sunday in ``lang``, from Babel (« lundi » … « dimanche »)."""
    names = get_day_names("wide", locale=i18n.babel_locale(lang))
    return [names[day] for day in range(7)]


def translator(lang: str) -> i18n.Texts:
    """The page texts of ``lang``: gettext with French msgids (see ``tierslieu.i18n``)."""
    return i18n.texts(lang)


def label_for(lang: str) -> Callable[[str, str], str]:
    def label(table: str, value: str) -> str:
        entry = LABELS.get(table, {}).get(value)
        if not entry:
            return value
        return entry[1] if lang == "en" else i18n.gettext(lang, entry[0])

    return label


# --- security: headers and outputs (schema page, one-time secrets) ---------------------------


# --- personal data (RGPD): « Mon compte », account deletion, /confidentialite ------------------


# --- statistics, the Bilan page and the open-data directory (issue 15) ---
LABELS["stats_kind"] = {
    "neighbour": ("Habitants", "Neighbours"),
    "resident": ("Résidents", "Residents"),
    "professional": ("Professionnels", "Professionals"),
    "guest": ("Invités (sans compte)", "Guests (no account)"),
}
LABELS["meal"] = {"lunch": ("Déjeuner", "Lunch"), "dinner": ("Dîner", "Dinner")}
