"""The public directories of assets and structures (read by the driver, not the ORM):
their filters, order and pages, and each entry as its own page describes it."""

from tests.conftest import STRUCTURE_A, STRUCTURE_B

WORKSHOP = {
    "name": "Atelier couture",
    "kind": "workshop",
    "booking_mode": "shared",
    "capacity": 6,
    "audience": ["public"],
    "accessibility": {"wheelchair": False, "step_free": True},
    "quotas": {"bookings_per_week": 2},
}
ROOM = {
    "name": "Salle Simone Veil",
    "kind": "room",
    "booking_mode": "exclusive",
    "capacity": 20,
    "audience": ["professionals"],
    "accessibility": {"wheelchair": True},
    "rules": {"requires_approval": True, "max_party_size": 20},
}
# A third structure in Bondy: within a commune, structures come by name.
CENTRE = {
    "slug": "centre-social-abreuvoir",
    "name": "Centre social L'Abreuvoir",
    "kind": "centre_social",
    "postcode": "93140",
    "commune": "Bondy",
    "timezone": "Europe/Paris",
}


def _open(client, slug, person, asset):
    response = client.post(f"/api/structures/{slug}/assets", json=asset, headers=person.headers)
    assert response.status_code == 201, response.text
    return response.json()


def _names(client, **params):
    response = client.get("/api/assets", params=params)
    assert response.status_code == 200, response.text
    return [a["name"] for a in response.json()]


def test_asset_directory_filters_orders_and_pages(client, world):
    assert (
        client.post("/api/structures", json=CENTRE, headers=world.admin.headers).status_code == 201
    )
    _open(client, STRUCTURE_A["slug"], world.staff_a, WORKSHOP)
    _open(client, STRUCTURE_B["slug"], world.manager_b, ROOM)
    gone = _open(
        client, STRUCTURE_B["slug"], world.manager_b, {**WORKSHOP, "name": "Ancien atelier"}
    )
    assert (
        client.delete(f"/api/assets/{gone['id']}", headers=world.manager_b.headers).status_code
        == 204
    )
    _open(client, CENTRE["slug"], world.admin, {**ROOM, "name": "Salle des fêtes"})

    # By commune, then structure name, then asset name; archived assets never appear.
    every = ["Salle des fêtes", "Atelier couture", "Jardin des Tilleuls", "Salle Simone Veil"]
    assert _names(client) == every
    assert _names(client, kind="room") == ["Salle des fêtes", "Salle Simone Veil"]
    assert _names(client, commune="  ROMAINVILLE ") == ["Salle Simone Veil"]
    assert _names(client, wheelchair="true") == [
        "Salle des fêtes", "Jardin des Tilleuls", "Salle Simone Veil",
    ]  # fmt: skip
    assert _names(client, wheelchair="false") == ["Atelier couture"]
    assert _names(client, structure=STRUCTURE_A["slug"]) == [
        "Atelier couture",
        "Jardin des Tilleuls",
    ]
    assert _names(client, structure=STRUCTURE_A["slug"], kind="garden", commune="bondy") == [
        "Jardin des Tilleuls"
    ]
    assert _names(client, structure=STRUCTURE_B["slug"], wheelchair="false") == []
    assert _names(client, commune="Pantin") == []
    assert _names(client, limit=2, offset=1) == every[1:3]
    assert _names(client, offset=10) == []

    # Each entry is the asset as its own page describes it (the ORM's way).
    for entry in client.get("/api/assets").json():
        assert client.get(f"/api/assets/{entry['id']}").json() == entry
    couture = next(a for a in client.get("/api/assets").json() if a["name"] == "Atelier couture")
    assert couture["quotas"]["bookings_per_week"] == 2
    assert couture["accessibility"] == {
        "wheelchair": False, "step_free": True, "accessible_toilets": False,
    }  # fmt: skip
    assert couture["structure"] == {
        "slug": STRUCTURE_A["slug"],
        "name": STRUCTURE_A["name"],
        "commune": "Bondy",
        "timezone": "Europe/Paris",
    }
    assert couture["archived"] is False


def test_asset_directory_refuses_bad_filters(client, world):
    for params in ({"kind": "castle"}, {"limit": 0}, {"limit": 201}, {"offset": -1},
                   {"wheelchair": "maybe"}, {"commune": "x" * 121}):  # fmt: skip
        response = client.get("/api/assets", params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


def test_structure_directory_filters_orders_and_pages(client, world):
    assert (
        client.post("/api/structures", json=CENTRE, headers=world.admin.headers).status_code == 201
    )

    def slugs(**params):
        response = client.get("/api/structures", params=params)
        assert response.status_code == 200, response.text
        return [s["slug"] for s in response.json()]

    every = [CENTRE["slug"], STRUCTURE_A["slug"], STRUCTURE_B["slug"]]
    assert slugs() == every
    assert slugs(commune=" bondy") == every[:2]
    assert slugs(kind="chrs") == [STRUCTURE_B["slug"]]
    assert slugs(kind="ehpad", commune="Romainville") == []
    assert slugs(limit=1, offset=1) == [STRUCTURE_A["slug"]]
    for entry in client.get("/api/structures").json():
        assert client.get(f"/api/structures/{entry['slug']}").json() == entry
    tilleuls = client.get("/api/structures", params={"kind": "ehpad"}).json()[0]
    assert (tilleuls["latitude"], tilleuls["longitude"]) == (48.9022, 2.4828)
    assert tilleuls["description"] == STRUCTURE_A["description"]
    assert client.get("/api/structures", params={"kind": "castle"}).status_code == 422
