"""Rules for what a person may choose: passwords and the names others will read."""

from __future__ import annotations

import gzip
import unicodedata
from functools import lru_cache
from importlib import resources

from tierslieu.errors import InvalidInput

MIN_PASSWORD_LENGTH = 10
# A password needs some variety: "aaaaaaaaaa" or "ababababab" is refused.
MIN_DISTINCT_CHARACTERS = 4
MAX_NAME_LENGTH = 120

# Unicode categories refused in names: controls, format characters (bidi overrides and
# isolates U+202A–U+202E and U+2066–U+2069, zero-width U+200B–U+200D, U+2060, U+FEFF),
# surrogates, private use, unassigned, line and paragraph separators.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The 10,000 most common passwords, lower-cased (see data/common-passwords.NOTICE)."""
    data = resources.files("tierslieu.domain").joinpath("data/common-passwords.txt.gz")
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip().lower() for line in lines if line.strip())


def password_problem(password: str, *, email: str | None = None) -> str | None:
    """Why ``password`` is refused (a field message code), or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH or not password.strip():
        return "weak-password"
    lowered = password.strip().lower()
    if len(set(lowered)) < MIN_DISTINCT_CHARACTERS or lowered in common_passwords():
        return "common-password"
    if email and lowered in {email.lower(), email.lower().partition("@")[0]}:
        return "common-password"
    return None


def check_password(password: str, *, field: str = "password", email: str | None = None) -> None:
    """Refuse (422 on ``field``) a password that is short, blank or among the most common."""
    problem = password_problem(password, email=email)
    if problem:
        raise InvalidInput(field, problem, {"n": MIN_PASSWORD_LENGTH})


def clean_person_name(value: str, field: str = "display_name") -> str:
    """A name as others will read it: NFC, trimmed, inner spaces collapsed, never blank,
    with no control, format (bidi override, zero-width) or other invisible characters."""
    name = unicodedata.normalize("NFC", value)
    if any(unicodedata.category(c) in _FORBIDDEN_CATEGORIES for c in name):
        raise InvalidInput(field, "invalid-name")
    name = " ".join(name.split())
    if not name:
        raise InvalidInput(field, "blank-name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(field, "too-long", {"n": MAX_NAME_LENGTH})
    return name
