"""Interface texts of the web pages: gettext (``tierslieu.i18n``) and labels (``tierslieu.labels``)."""

from __future__ import annotations

from collections.abc import Callable

from babel.dates import get_day_names

from tierslieu import i18n, labels


def weekdays(lang: str) -> list[str]:
    """Monday to Sunday in ``lang``, from Babel (« lundi » … « dimanche »)."""
    names = get_day_names("wide", locale=i18n.babel_locale(lang))
    return [names[day] for day in range(7)]


def translator(lang: str) -> i18n.Texts:
    """The page texts of ``lang``: gettext with French msgids (see ``tierslieu.i18n``)."""
    return i18n.texts(lang)


def label_for(lang: str) -> Callable[[str, str], str]:
    """``label(table, value)`` for the templates: the one label catalogue, ``tierslieu.labels``."""

    def label(table: str, value: str) -> str:
        return labels.label(lang, table, value)

    return label


class _AllLanguages(dict[str, dict[str, tuple[str, ...]]]):
    """``LABELS[table][value]``: the label in every served language (for searching)."""

    def __missing__(self, table: str) -> dict[str, tuple[str, ...]]:
        found = {
            value: tuple(labels.label(lang, table, value) for lang in i18n.LANGUAGES)
            for value in labels.TABLES.get(table, {})
        }
        self[table] = found
        return found


LABELS = _AllLanguages()
