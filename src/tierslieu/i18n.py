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


# code -> language -> (title, detail template)
PROBLEMS: dict[str, dict[str, tuple[str, str]]] = {
    "validation-error": {
        "fr": ("Données invalides", "Certaines valeurs envoyées ne sont pas valides."),
        "en": ("Invalid data", "Some of the values sent are not valid."),
    },
    "malformed-body": {
        "fr": ("Requête illisible", "Le corps de la requête n'est pas un JSON valide."),
        "en": ("Unreadable request", "The request body is not valid JSON."),
    },
    "unauthenticated": {
        "fr": (
            "Connexion requise",
            "Connectez-vous pour continuer (jeton absent, invalide ou expiré).",
        ),
        "en": ("Sign-in required", "Please sign in (token missing, invalid or expired)."),
    },
    "invalid-credentials": {
        "fr": ("Identifiants incorrects", "L'adresse e-mail ou le mot de passe est incorrect."),
        "en": ("Wrong credentials", "The e-mail address or the password is wrong."),
    },
    "too-many-attempts": {
        "fr": (
            "Trop de tentatives",
            "Trop de tentatives de connexion échouées. Réessayez dans {minutes} minutes.",
        ),
        "en": (
            "Too many attempts",
            "Too many failed sign-in attempts. Try again in {minutes} minutes.",
        ),
    },
    "forbidden": {
        "fr": ("Accès refusé", "Vous n'avez pas les droits nécessaires pour cette action."),
        "en": ("Forbidden", "You do not have the rights needed for this action."),
    },
    "not-found": {
        "fr": ("Introuvable", "La ressource demandée n'existe pas."),
        "en": ("Not found", "The requested resource does not exist."),
    },
    "method-not-allowed": {
        "fr": ("Méthode non autorisée", "Cette méthode n'est pas acceptée à cette adresse."),
        "en": ("Method not allowed", "This method is not accepted at this address."),
    },
    "payload-too-large": {
        "fr": ("Requête trop volumineuse", "Le corps de la requête dépasse la taille autorisée."),
        "en": ("Request too large", "The request body exceeds the allowed size."),
    },
    "unsupported-media-type": {
        "fr": ("Format non pris en charge", "Ce format de contenu n'est pas accepté."),
        "en": ("Unsupported media type", "This content type is not accepted."),
    },
    "email-taken": {
        "fr": ("Adresse déjà utilisée", "Un compte existe déjà avec cette adresse e-mail."),
        "en": ("E-mail already used", "An account already exists with this e-mail address."),
    },
    "slug-taken": {
        "fr": ("Identifiant déjà pris", "Une structure utilise déjà l'identifiant « {slug} »."),
        "en": ("Identifier taken", "A structure already uses the identifier “{slug}”."),
    },
    "unknown-person": {
        "fr": (
            "Personne inconnue",
            "Aucun compte n'existe avec l'adresse {email} : la personne doit d'abord s'inscrire.",
        ),
        "en": ("Unknown person", "No account exists for {email}: the person must register first."),
    },
    "last-manager": {
        "fr": (
            "Dernier responsable",
            "La structure doit garder au moins un responsable : nommez-en un autre d'abord.",
        ),
        "en": ("Last manager", "The structure must keep a manager: appoint another one first."),
    },
    "asset-archived": {
        "fr": ("Ressource archivée", "Cette ressource est archivée et ne peut plus être modifiée."),
        "en": ("Asset archived", "This asset is archived and can no longer be changed."),
    },
    "internal-error": {
        "fr": ("Erreur interne", "Une erreur inattendue s'est produite ; rien n'a été enregistré."),
        "en": ("Internal error", "An unexpected error occurred; nothing was saved."),
    },
    "invalid-data": {
        "fr": (
            "Données invalides",
            "Une valeur envoyée ne peut pas être enregistrée (caractère interdit ?).",
        ),
        "en": ("Invalid data", "A value sent cannot be stored (forbidden character?)."),
    },
    "service-unavailable": {
        "fr": ("Service indisponible", "La base de données ne répond pas."),
        "en": ("Service unavailable", "The database does not answer."),
    },
}

# Field-level messages (validation errors), keyed by a short code.
FIELD_MESSAGES: dict[str, dict[str, str]] = {
    "required": {"fr": "Champ obligatoire.", "en": "This field is required."},
    "unknown-field": {"fr": "Champ non autorisé.", "en": "This field is not allowed."},
    "wrong-type": {"fr": "Type attendu : {expected}.", "en": "Expected type: {expected}."},
    "invalid-choice": {
        "fr": "Valeur non autorisée : {value}.",
        "en": "Value not allowed: {value}.",
    },
    "too-short": {"fr": "Trop court (au moins {n}).", "en": "Too short (at least {n})."},
    "too-long": {"fr": "Trop long (au plus {n}).", "en": "Too long (at most {n})."},
    "too-small": {"fr": "Doit être au moins {n}.", "en": "Must be at least {n}."},
    "too-large": {"fr": "Doit être au plus {n}.", "en": "Must be at most {n}."},
    "bad-format": {"fr": "Format invalide.", "en": "Invalid format."},
    "invalid-email": {"fr": "Adresse e-mail invalide.", "en": "Invalid e-mail address."},
    "invalid-timezone": {
        "fr": "Fuseau horaire inconnu (exemple : Europe/Paris).",
        "en": "Unknown time zone (example: Europe/Paris).",
    },
    "invalid-slug": {
        "fr": "Minuscules, chiffres et tirets, 3 à 60 caractères.",
        "en": "Lower-case letters, digits and hyphens, 3 to 60 characters.",
    },
    "weak-password": {
        "fr": "Le mot de passe doit faire au moins 10 caractères (pas seulement des espaces).",
        "en": "The password must be at least 10 characters long (not only spaces).",
    },
    # --- accounts (password policy, names) ---
    "common-password": {
        "fr": "Ce mot de passe est trop courant ou trop simple : choisissez-en un autre "
        "(par exemple quelques mots sans rapport entre eux).",
        "en": "This password is too common or too simple: choose another one "
        "(for example a few unrelated words).",
    },
    "wrong-current-password": {
        "fr": "Le mot de passe actuel est incorrect.",
        "en": "The current password is wrong.",
    },
    "blank-name": {"fr": "Le nom ne peut pas être vide.", "en": "The name cannot be blank."},
    "invalid-name": {
        "fr": "Le nom contient des caractères invisibles ou de contrôle (sens d'écriture, "
        "espace sans largeur…) : retirez-les.",
        "en": "The name contains invisible or control characters (text direction, "
        "zero-width space…): remove them.",
    },
    "nul-character": {"fr": "Caractère nul interdit.", "en": "NUL characters are not allowed."},
    "invalid": {"fr": "Valeur invalide.", "en": "Invalid value."},
    "date-out-of-range": {
        "fr": "Date hors limites (du {earliest} au {latest}).",
        "en": "Date out of range (from {earliest} to {latest}).",
    },
}


# Texts of successful answers that are not problems, keyed by a short code.
NOTICES: dict[str, dict[str, str]] = {
    "registration-accepted": {
        "fr": "Demande d'inscription enregistrée. Si cette adresse n'avait pas encore de compte, "
        "il est créé et vous pouvez vous connecter dès maintenant ; sinon, rien n'a changé : "
        "connectez-vous avec votre mot de passe habituel.",
        "en": "Registration received. If this address had no account yet, it has been created "
        "and you can sign in right away; otherwise nothing changed: sign in with your "
        "usual password.",
    },
}


def notice(code: str, lang: str) -> str:
    entry = NOTICES[code]
    return entry.get(lang) or entry[DEFAULT_LANGUAGE]


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


def problem_text(code: str, lang: str, params: dict[str, Any] | None = None) -> tuple[str, str]:
    entry = PROBLEMS.get(code) or PROBLEMS["internal-error"]
    title, detail = entry.get(lang) or entry[DEFAULT_LANGUAGE]
    return title, _format(detail, params)


def field_message(code: str, lang: str, params: dict[str, Any] | None = None) -> str:
    entry = FIELD_MESSAGES.get(code) or FIELD_MESSAGES["invalid"]
    return _format(entry.get(lang) or entry[DEFAULT_LANGUAGE], params)


def _format(template: str, params: dict[str, Any] | None) -> str:
    if not params:
        return template
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template


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
