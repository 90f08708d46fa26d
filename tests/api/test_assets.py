from tests.conftest import GARDEN

ROOM = {
    "name": "Salle Simone Veil",
    "kind": "room",
    "booking_mode": "exclusive",
    "capacity": 20,
    "audience": ["professionals", "public"],
    "rules": {"requires_approval": True, "max_party_size": 20},
}


def test_staff_open_an_asset_with_sensible_default_rules(client, world):
    garden = world.garden
    assert garden["structure"]["slug"] == "ehpad-les-tilleuls"
    assert garden["accessibility"] == {
        "wheelchair": True,
        "step_free": True,
        "accessible_toilets": True,
    }
    assert garden["rules"] == {
        "min_notice_minutes": 60,
        "max_advance_days": 60,
        "cancel_until_minutes": 120,
        "max_party_size": 4,
        "requires_approval": False,
        "reminder_hours": 24,
        "waitlist": False,  # staff open a waiting list per asset
        "waitlist_max_length": 20,
    }
    room = client.post(
        "/api/structures/chrs-le-relais/assets", json=ROOM, headers=world.manager_b.headers
    )
    assert room.status_code == 201
    assert room.json()["rules"]["requires_approval"] is True
    assert room.json()["booking_mode"] == "exclusive"


def test_who_may_not_open_assets(client, world):
    url = "/api/structures/ehpad-les-tilleuls/assets"
    for person in (
        world.neighbour,
        world.professional,
        world.staff_b,
        world.manager_b,
        world.kitchen_a,
    ):
        assert client.post(url, json=GARDEN, headers=person.headers).status_code == 403
    assert client.post(url, json=GARDEN).status_code == 401
    assert (
        client.post(
            "/api/structures/inconnue/assets", json=GARDEN, headers=world.staff_a.headers
        ).status_code
        == 404
    )
    assert len(client.get("/api/assets").json()) == 1


def test_asset_input_is_validated(client, world):
    url = "/api/structures/ehpad-les-tilleuls/assets"
    bad = [
        {**GARDEN, "kind": "piscine"},
        {**GARDEN, "booking_mode": "first-come"},
        {**GARDEN, "capacity": 0},
        {**GARDEN, "capacity": "huit"},
        {**GARDEN, "audience": ["martians"]},
        {**GARDEN, "audience": []},
        {**GARDEN, "rules": {"max_party_size": 0}},
        {**GARDEN, "rules": {"is_free": True}},
        {**GARDEN, "structure_id": "0190f0f0-0000-7000-8000-000000000000"},
    ]
    for body in bad:
        response = client.post(url, json=body, headers=world.staff_a.headers)
        assert response.status_code == 422, body
        assert response.json()["errors"]
    assert len(client.get("/api/assets").json()) == 1


def test_public_directory_filters(client, world):
    client.post("/api/structures/chrs-le-relais/assets", json=ROOM, headers=world.manager_b.headers)
    everything = client.get("/api/assets").json()
    assert {a["name"] for a in everything} == {"Jardin des Tilleuls", "Salle Simone Veil"}
    assert [
        a["name"] for a in client.get("/api/assets", params={"commune": "Romainville"}).json()
    ] == ["Salle Simone Veil"]
    assert [a["name"] for a in client.get("/api/assets", params={"kind": "garden"}).json()] == [
        "Jardin des Tilleuls"
    ]
    assert [a["name"] for a in client.get("/api/assets", params={"wheelchair": "true"}).json()] == [
        "Jardin des Tilleuls"
    ]
    assert [
        a["name"] for a in client.get("/api/assets", params={"structure": "chrs-le-relais"}).json()
    ] == ["Salle Simone Veil"]
    assert client.get("/api/assets", params={"wheelchair": "peut-etre"}).status_code == 422


def test_patch_and_archive(client, world):
    url = f"/api/assets/{world.garden['id']}"
    patched = client.patch(
        url,
        json={
            "capacity": 10,
            "rules": {"max_party_size": 6},
            "accessibility": {"accessible_toilets": False},
        },
        headers=world.staff_a.headers,
    )
    assert patched.status_code == 200
    body = patched.json()
    assert body["capacity"] == 10 and body["rules"]["max_party_size"] == 6
    assert body["rules"]["min_notice_minutes"] == 60  # untouched rules stay
    assert body["accessibility"] == {
        "wheelchair": True,
        "step_free": True,
        "accessible_toilets": False,
    }
    for person in (world.neighbour, world.staff_b):
        assert client.patch(url, json={"capacity": 1}, headers=person.headers).status_code == 403
        assert client.delete(url, headers=person.headers).status_code == 403
    assert client.get(url).json()["capacity"] == 10

    assert client.delete(url, headers=world.staff_a.headers).status_code == 204
    assert client.get(url).status_code == 404
    assert client.get("/api/assets").json() == []
    staff_view = client.get(url, headers=world.staff_a.headers)
    assert staff_view.status_code == 200 and staff_view.json()["archived"] is True
    assert client.get(url, headers=world.staff_b.headers).status_code == 404
    archived_patch = client.patch(url, json={"capacity": 3}, headers=world.staff_a.headers)
    assert archived_patch.status_code == 409


def test_unknown_asset_is_404(client, world):
    assert client.get("/api/assets/0190f0f0-0000-7000-8000-000000000000").status_code == 404
    assert client.get("/api/assets/pas-un-uuid").status_code == 404
