"""Bad input gets a clean 4xx problem and changes nothing."""

from tests.conftest import STRUCTURE_A


def _structure_count(client):
    return len(client.get("/api/structures").json())


def test_malformed_json(client, admin):
    before = _structure_count(client)
    response = client.post(
        "/api/structures",
        content=b'{"slug": "x", ',
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "malformed-body"
    assert _structure_count(client) == before


def test_wrong_types_and_enum_values(client, admin):
    for patch in ({"latitude": "nord"}, {"kind": "hopital"}, {"slug": None}, {"latitude": 123.0}):
        response = client.post(
            "/api/structures", json={**STRUCTURE_A, **patch}, headers=admin.headers
        )
        assert response.status_code == 422, patch
        assert response.json()["errors"][0]["field"] == next(iter(patch))
    assert _structure_count(client) == 0


def test_ten_megabyte_body_is_refused(client, admin):
    big = b'{"slug": "' + b"a" * (10 * 1024 * 1024) + b'"}'
    response = client.post(
        "/api/structures",
        content=big,
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload-too-large"
    assert _structure_count(client) == 0


def test_array_instead_of_object(client, admin):
    response = client.post("/api/structures", json=[1, 2, 3], headers=admin.headers)
    assert response.status_code in (400, 422)
    assert response.headers["content-type"].startswith("application/problem+json")


def test_english_problem_details(client, admin):
    response = client.post(
        "/api/structures",
        json={**STRUCTURE_A, "kind": "hopital"},
        headers={**admin.headers, "Accept-Language": "en-GB,en;q=0.9"},
    )
    assert response.json()["title"] == "Input to correct"
    assert response.json()["errors"][0]["message"].startswith("Value not allowed")


def test_nul_characters_are_refused_everywhere(client, admin):
    body = {**STRUCTURE_A, "name": "EHPAD\x00"}
    response = client.post("/api/structures", json=body, headers=admin.headers)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "name", "message": "Caractère nul interdit : retirez-le."}
    ]
    for url, params in (
        ("/api/structures", {"commune": "Bon\x00dy"}),
        ("/api/assets", {"structure": "a\x00"}),
    ):
        answer = client.get(url, params=params)
        assert answer.status_code in (200, 422), answer.text
    assert client.get("/api/structures/a%00b").status_code in (404, 422)
    assert _structure_count(client) == 0
