"""Contacts: people staff know without an account (Mme Martin, who books by phone).

Pure rules: how a name, a phone number and an e-mail address are compared, so that
« Mme MARTIN », « mme martin » and « Mme Martín » are found by one search, and
« 06 12 34 56 78 », « 0612345678 » and « +33 6 12 34 56 78 » are one number.
"""

from __future__ import annotations

import re
import unicodedata

# Fewer digits than this is not a phone number one can call (and would match too much).
MIN_PHONE_DIGITS = 6


def name_key(name: str) -> str:
    """Case, accents and spacing removed: the key a name is searched and compared by."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.split())


def phone_key(phone: str | None) -> str | None:
    """The digits of a number, French international prefixes written the national way
    (+33 6… and 0033 6… are 06…); None when it is not a number."""
    if not phone:
        return None
    digits = re.sub(r"\D", "", phone)
    if phone.strip().startswith("+"):
        digits = "00" + digits
    if digits.startswith("0033"):
        digits = "0" + digits[4:]
    if len(digits) < MIN_PHONE_DIGITS:
        return None
    return digits


def email_key(email: str | None) -> str | None:
    """An address compared without case or surrounding spaces."""
    if not email or not email.strip():
        return None
    return email.strip().casefold()
