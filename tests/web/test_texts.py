"""Every interface text written in French in the pages has its English beside it."""

from __future__ import annotations

import re
from pathlib import Path

from tierslieu.web import text

ROOT = Path(__file__).resolve().parents[2] / "src" / "tierslieu"
CALL = re.compile(r"""(?<!\w)_\(\s*(["'])((?:(?!\1).)+)\1""")


def french_texts() -> set[str]:
    found: set[str] = set()
    files = [*(ROOT / "templates" / "web").glob("*.html"), *(ROOT / "web").glob("*.py")]
    for path in files:
        for match in CALL.finditer(path.read_text(encoding="utf-8")):
            found.add(match.group(2).replace("\\'", "'"))
    return found


def test_every_french_text_has_an_english_one():
    missing = sorted(t for t in french_texts() if t not in text.EN)
    assert not missing, "missing English for:\n" + "\n".join(missing)


def test_english_keeps_the_placeholders():
    for french, english in text.EN.items():
        assert set(re.findall(r"{\w+}", french)) == set(re.findall(r"{\w+}", english)), french
