"""The gettext catalogues are complete and current: CI fails on a text that escaped them.

Extraction runs the same ``pybabel extract`` as ``make messages``; every msgid found in the
sources and templates must have a non-fuzzy translation in every language, with the same
placeholders, no entry may be left over, and the shipped ``.mo`` must be the compiled ``.po``.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "src" / "tierslieu" / "locale"
PLACEHOLDER = re.compile(r"{(\w*)}")
LANGUAGES = sorted(p.name for p in LOCALE.iterdir() if (p / "LC_MESSAGES" / "messages.po").exists())


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory):
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run(
        [
            str(pybabel),
            "extract",
            "-F",
            "babel.cfg",
            "--no-location",
            "-k",
            "N_",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as f:
        return read_po(f)


def _catalogue(lang: str):
    with (LOCALE / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=lang)


def _ids(catalogue) -> set[object]:
    return {m.id for m in catalogue if m.id}


def test_there_is_an_english_catalogue():
    assert "en" in LANGUAGES


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_text_has_a_translation(extracted, lang):
    catalogue = _catalogue(lang)
    missing = _ids(extracted) - _ids(catalogue)
    assert not missing, f"run `make messages`; not in {lang}: {sorted(map(str, missing))[:20]}"
    untranslated = [
        str(m.id)
        for m in catalogue
        if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)))
    ]
    assert not untranslated, f"untranslated in {lang}: {untranslated[:20]}"
    fuzzy = [str(m.id) for m in catalogue if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy in {lang}: {fuzzy[:20]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_leftover_entries(extracted, lang):
    leftover = _ids(_catalogue(lang)) - _ids(extracted)
    assert not leftover, (
        f"run `make messages`; no longer in the sources: {sorted(map(str, leftover))[:20]}"
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_the_placeholders(lang):
    for message in _catalogue(lang):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1])) - {"n"}
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) - {"n"} == wanted, (message.id, string)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_shipped_mo_is_the_compiled_po(lang):
    compiled = io.BytesIO()
    write_mo(compiled, _catalogue(lang))
    shipped = (LOCALE / lang / "LC_MESSAGES" / "messages.mo").read_bytes()
    assert shipped == compiled.getvalue(), "run `make messages` (the .mo is older than the .po)"
