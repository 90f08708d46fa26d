"""Web forms are read with the API's own msgspec schemas: both accept exactly the same values.

``parse(Schema, values)`` converts the form's fields (strings, as a browser sends them) into
the same ``Strict`` schema the API decodes its JSON into: same lengths, patterns, NUL refusal
and unknown-field refusal. A refused value raises ``InvalidInput`` with the same problem code
(``validation-error``) and field message as the API's 422, and the form is shown again.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from tierslieu import i18n
from tierslieu.errors import InvalidInput

S = TypeVar("S", bound=msgspec.Struct)

_AT = re.compile(r" - at `\$\.?([^`]*)`")


def field_of(message: str) -> str:
    """``… - at `$.name` - at `$.guest``` → ``guest.name`` (msgspec names the innermost first)."""
    parts = [p for p in reversed(_AT.findall(message)) if p]
    return ".".join(parts)


def given(values: dict[str, Any]) -> dict[str, Any]:
    """The fields a person filled in: a browser sends an untouched field as an empty string,
    which means « not given » (the schema's default, or ``required``), as an absent JSON key."""
    kept: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, dict):
            value = given(value)
        if value is None or value == "" or value == {} or value == []:
            continue
        kept[name] = value
    return kept


def parse(schema: type[S], values: dict[str, Any]) -> S:
    """The form's values as ``schema`` (the API's input schema), or ``InvalidInput``.

    Strings become numbers, dates, times and UUIDs as the schema says (``strict=False``);
    every other rule (bounds, lengths, patterns, NUL, unknown fields) is the API's own.
    """
    try:
        return msgspec.convert(given(values), schema, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        code, params, named = i18n.translate_validation(message)
        where = field_of(message)
        if named and code in {"required", "unknown-field"}:
            where = f"{where}.{named}" if where else named
        raise InvalidInput(where, code, params) from None
