"""Interface language: French first (the source language of every msgid), others by gettext.

Every text a person reads goes through :func:`gettext` / :func:`ngettext` with a French
msgid; English lives in ``locale/en/LC_MESSAGES/messages.po`` (compiled to ``.mo`` and
shipped in the wheel). Adding a language is adding a ``.po`` file there and running
``make messages``. Placeholders are ``{name}``; they are filled after translation, so a
translation may move them. ``N_`` marks a msgid for extraction without translating it.

A pseudo-locale (:data:`PSEUDO`, off unless :func:`enable_pseudo` is called, as the tests
do) wraps every translated text in « ⟦…⟧ »: a text shown without the brackets escaped the
catalogue.
"""

from __future__ import annotations

import gettext as _gettext
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.support import Translations

DEFAULT_LANGUAGE = "fr"
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
PSEUDO = "qps"
_pseudo_enabled = False


def _discover_languages() -> tuple[str, ...]:
    found = sorted(
        path.parent.parent.name
        for path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")
        if path.parent.parent.name != DEFAULT_LANGUAGE
    )
    return (DEFAULT_LANGUAGE, *found)


LANGUAGES: tuple[str, ...] = _discover_languages()

# Babel locales used to format dates, numbers and money for each interface language.
_BABEL_LOCALES = {"fr": "fr_FR", "en": "en_GB"}


def babel_locale(lang: str) -> str:
    """The Babel locale that formats dates and amounts for ``lang`` (the pseudo-locale: French)."""
    return _BABEL_LOCALES.get(lang, lang if lang in LANGUAGES else _BABEL_LOCALES["fr"])


def N_(message: str) -> str:
    """Mark a msgid for extraction; it is translated where it is shown."""
    return message


class _Pseudo(_gettext.NullTranslations):
    """Wraps every text in ⟦…⟧ so a test can see which texts went through the catalogue."""

    def gettext(self, message: str) -> str:
        return f"⟦{message}⟧"

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return f"⟦{msgid1 if n == 1 else msgid2}⟧"

    def pgettext(self, context: str, message: str) -> str:
        return f"⟦{message}⟧"


def enable_pseudo(enabled: bool = True) -> None:
    """Accept :data:`PSEUDO` as a language (tests only)."""
    global _pseudo_enabled
    _pseudo_enabled = enabled


def accepted(lang: str | None) -> bool:
    """Whether ``lang`` is an interface language this process serves."""
    return lang in LANGUAGES or (_pseudo_enabled and lang == PSEUDO)


def choose(lang: str | None) -> str:
    """``lang`` when served, else French."""
    return lang if lang is not None and accepted(lang) else DEFAULT_LANGUAGE


@lru_cache(maxsize=16)
def _catalogue(lang: str) -> _gettext.NullTranslations:
    if lang == PSEUDO:
        return _Pseudo()
    if lang == DEFAULT_LANGUAGE or lang not in LANGUAGES:
        return _gettext.NullTranslations()
    return Translations.load(str(LOCALE_DIR), [lang], DOMAIN)


def translations(lang: str) -> _gettext.NullTranslations:
    """The gettext catalogue of ``lang`` (French: the msgids themselves)."""
    return _catalogue(lang if accepted(lang) else DEFAULT_LANGUAGE)


def _fill(template: str, params: dict[str, Any]) -> str:
    if not params:
        return template
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template


def gettext(lang: str, message: str, **params: Any) -> str:
    """``message`` (a French msgid) in ``lang``, with ``{placeholders}`` filled."""
    return _fill(translations(lang).gettext(message), params)


def ngettext(lang: str, singular: str, plural: str, n: int, **params: Any) -> str:
    """The singular or plural form for ``n`` in ``lang``; ``{n}`` is filled with ``n``."""
    params.setdefault("n", n)
    return _fill(translations(lang).ngettext(singular, plural, n), params)


class Texts:
    """Texts bound to one language: ``_("…", name=…)`` and ``_.ngettext("…", "…", n)``."""

    __slots__ = ("lang",)

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, message: str, **params: Any) -> str:
        return gettext(self.lang, message, **params)

    def ngettext(self, singular: str, plural: str, n: int, **params: Any) -> str:
        return ngettext(self.lang, singular, plural, n, **params)


def texts(lang: str) -> Texts:
    """Texts of one language, for a page, a problem, a sheet, a mail."""
    return Texts(lang)


# Field-level messages (validation errors), keyed by a short code: each says what to correct.
FIELD_MESSAGES: dict[str, str] = {
    "required": N_("Champ obligatoire : remplissez-le."),
    "unknown-field": N_("Champ non autorisé : retirez-le."),
    "wrong-type": N_("Type attendu : {expected}."),
    "invalid-choice": N_("Valeur non autorisée : {value}."),
    "too-short": N_("Trop court (au moins {n})."),
    "too-long": N_("Trop long (au plus {n})."),
    "too-small": N_("Doit être au moins {n}."),
    "too-large": N_("Doit être au plus {n}."),
    "bad-format": N_("Format non reconnu : corrigez la saisie de ce champ."),
    "invalid-email": N_("Adresse e-mail invalide : elle s'écrit nom@domaine.fr."),
    "invalid-timezone": N_("Fuseau horaire inconnu (exemple : Europe/Paris)."),
    "invalid-slug": N_("Minuscules, chiffres et tirets, 3 à 60 caractères."),
    "weak-password": N_(
        "Le mot de passe doit faire au moins 10 caractères (pas seulement des espaces)."
    ),
    "common-password": N_(
        "Ce mot de passe est trop courant ou trop simple : choisissez-en un autre "
        "(par exemple quelques mots sans rapport entre eux)."
    ),
    "wrong-current-password": N_("Le mot de passe actuel est incorrect."),
    "blank-name": N_("Le nom ne peut pas être vide."),
    "invalid-name": N_(
        "Le nom contient des caractères invisibles ou de contrôle (sens d'écriture, "
        "espace sans largeur…) : retirez-les."
    ),
    "nul-character": N_("Caractère nul interdit : retirez-le."),
    "invalid": N_("Cette valeur n'est pas acceptée ici : vérifiez-la."),
    "date-out-of-range": N_("Date hors limites (du {earliest} au {latest})."),
    # --- canteen ---
    "cutoff-after-pickup": N_("La limite de commande doit précéder le premier retrait."),
    "window-not-on-date": N_(
        "Le créneau de retrait doit être le jour du service, fin après début."
    ),
    "nonexistent-local-time": N_("Cette heure n'existe pas ce jour-là (changement d'heure)."),
    "unknown-tariff": N_("Tarif inconnu dans cette structure : {value}."),
    "duplicate": N_("Valeur en double : {value}."),
}

# Texts of successful answers that are not problems, keyed by a short code.
NOTICES: dict[str, str] = {
    "password-reset-requested": N_(
        "Si cette adresse correspond à un compte, un lien pour choisir un nouveau mot de passe "
        "vient d'y être envoyé. Il est valable une heure."
    ),
    "email-confirm-sent": N_(
        "Un nouveau lien de confirmation est envoyé à votre adresse e-mail, s'il n'y en a pas "
        "déjà eu trop cette heure-ci."
    ),
    "registration-accepted": N_(
        "Demande d'inscription enregistrée. Si cette adresse n'avait pas encore de compte, "
        "il est créé et vous pouvez vous connecter dès maintenant ; sinon, rien n'a changé : "
        "connectez-vous avec votre mot de passe habituel."
    ),
}


def notice(code: str, lang: str) -> str:
    return gettext(lang, NOTICES[code])


def negotiate(accept_language: str | None) -> str:
    """Pick fr or en from an Accept-Language header; French when nothing matches."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.split("-")[0]
        if accepted(primary) and quality > 0:
            ranked.append((-quality, index, primary))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


def field_message(code: str, lang: str, params: dict[str, Any] | None = None) -> str:
    """The message of one refused field, its parameters formatted for the reader."""
    from tierslieu.errors import format_params

    msgid = FIELD_MESSAGES.get(code) or FIELD_MESSAGES["invalid"]
    return gettext(lang, msgid, **format_params(lang, {}, params))


# msgspec's English validation messages, mapped to field message codes.
_MSGSPEC_PATTERNS: list[tuple[re.Pattern[str], str, Any]] = [
    (re.compile(r"Object missing required field `(?P<field>[^`]+)`"), "required", None),
    (re.compile(r"Object contains unknown field `(?P<field>[^`]+)`"), "unknown-field", None),
    (re.compile(r"Expected `(?P<expected>[^`]+)`, got `[^`]+`"), "wrong-type", "expected"),
    (re.compile(r"Invalid enum value (?P<value>'[^']*'|\S+)"), "invalid-choice", None),
    (re.compile(r"Expected `(?:str|array|object)` of length >= (?P<n>\d+)"), "too-short", "n"),
    (re.compile(r"Expected `(?:str|array|object)` of length <= (?P<n>\d+)"), "too-long", "n"),
    (re.compile(r"Expected `(?:int|float)` >= (?P<n>[-\d.]+)"), "too-small", "n"),
    (re.compile(r"Expected `(?:int|float)` <= (?P<n>[-\d.]+)"), "too-large", "n"),
    (re.compile(r"Expected `str` matching regex"), "bad-format", None),
    (re.compile(r"NUL character"), "nul-character", None),
    (
        re.compile(r"Invalid RFC3339|Invalid ISO|Invalid date|Invalid time|Invalid datetime"),
        "bad-format",
        None,
    ),
]


def translate_validation(message: str) -> tuple[str, dict[str, Any], str | None]:
    """Map one msgspec message to (code, params, field name found in the message)."""
    for pattern, code, _ in _MSGSPEC_PATTERNS:
        match = pattern.search(message)
        if match:
            groups = match.groupdict()
            return code, groups, groups.get("field")
    return "invalid", {}, None
