from tests.conftest import STRUCTURE_A, register, unique_email


def test_admin_creates_and_public_reads(client, admin):
    created = client.post("/api/structures", json=STRUCTURE_A, headers=admin.headers)
    assert created.status_code == 201
    assert created.json()["slug"] == "ehpad-les-tilleuls"
    public = client.get("/api/structures/ehpad-les-tilleuls")
    assert public.status_code == 200
    assert public.json()["commune"] == "Bondy"
    assert client.get("/api/structures/nope").status_code == 404


def test_slug_taken_is_409_and_bad_slug_422(client, admin):
    assert (
        client.post("/api/structures", json=STRUCTURE_A, headers=admin.headers).status_code == 201
    )
    again = client.post(
        "/api/structures", json={**STRUCTURE_A, "name": "Autre"}, headers=admin.headers
    )
    assert again.status_code == 409
    assert again.json()["code"] == "slug-taken"
    assert "ehpad-les-tilleuls" in again.json()["detail"]
    bad = client.post(
        "/api/structures", json={**STRUCTURE_A, "slug": "Pas Bon!"}, headers=admin.headers
    )
    assert bad.status_code == 422


def test_invalid_time_zone_is_refused_and_nothing_created(client, admin):
    body = {**STRUCTURE_A, "slug": "fuseau-faux", "timezone": "Europe/Atlantis"}
    response = client.post("/api/structures", json=body, headers=admin.headers)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "timezone", "message": "Fuseau horaire inconnu (exemple : Europe/Paris)."}
    ]
    assert client.get("/api/structures/fuseau-faux").status_code == 404


def test_directory_filters_by_commune_and_kind(client, world):
    bondy = client.get("/api/structures", params={"commune": "bondy"}).json()
    assert [s["slug"] for s in bondy] == ["ehpad-les-tilleuls"]
    chrs = client.get("/api/structures", params={"kind": "chrs"}).json()
    assert [s["slug"] for s in chrs] == ["chrs-le-relais"]
    assert client.get("/api/structures", params={"kind": "prison"}).status_code == 422


def test_only_admin_and_own_manager_patch(client, world):
    url = "/api/structures/ehpad-les-tilleuls"
    assert (
        client.patch(
            url, json={"description": "Nouveau"}, headers=world.manager_a.headers
        ).status_code
        == 200
    )
    assert client.get(url).json()["description"] == "Nouveau"
    for person in (world.staff_a, world.manager_b, world.neighbour):
        assert (
            client.patch(url, json={"description": "Pirate"}, headers=person.headers).status_code
            == 403
        )
    assert (
        client.patch(url, json={"slug": "autre"}, headers=world.manager_a.headers).status_code
        == 422
    )
    assert (
        client.patch(
            url, json={"timezone": "Nowhere/City"}, headers=world.admin.headers
        ).status_code
        == 422
    )
    assert client.get(url).json()["description"] == "Nouveau"
    assert client.patch(url, json={"description": "x"}).status_code == 401


def test_members_are_managed_by_managers_only(client, world):
    url = "/api/structures/ehpad-les-tilleuls/members"
    members = client.get(url, headers=world.manager_a.headers)
    assert members.status_code == 200
    roles = {m["email"]: m["role"] for m in members.json()}
    assert roles == {
        "sophie@les-tilleuls.test": "manager",
        "lucas@les-tilleuls.test": "staff",
        "cuisine@les-tilleuls.test": "kitchen",
    }
    for person in (world.staff_a, world.manager_b, world.neighbour):
        assert client.get(url, headers=person.headers).status_code == 403
        assert (
            client.put(
                url, json={"email": person.email, "role": "manager"}, headers=person.headers
            ).status_code
            == 403
        )
    # The structure B manager cannot make herself manager of A.
    me = client.get("/api/me", headers=world.manager_b.headers).json()
    assert [m["structure_slug"] for m in me["memberships"]] == ["chrs-le-relais"]


def test_role_change_and_removal(client, world):
    url = "/api/structures/ehpad-les-tilleuls/members"
    changed = client.put(
        url, json={"email": world.staff_a.email, "role": "kitchen"}, headers=world.manager_a.headers
    )
    assert changed.status_code == 200 and changed.json()["role"] == "kitchen"
    newcomer = register(client, unique_email())
    added = client.put(
        url, json={"email": newcomer.email, "role": "staff"}, headers=world.manager_a.headers
    )
    assert added.status_code == 201
    removed = client.delete(f"{url}/{newcomer.id}", headers=world.manager_a.headers)
    assert removed.status_code == 204
    assert client.delete(f"{url}/{newcomer.id}", headers=world.manager_a.headers).status_code == 404
    assert (
        client.delete(f"{url}/{world.staff_a.id}", headers=world.staff_a.headers).status_code == 403
    )


def test_unknown_person_and_last_manager(client, world):
    url = "/api/structures/ehpad-les-tilleuls/members"
    unknown = client.put(
        url,
        json={"email": "personne@exemple.test", "role": "staff"},
        headers=world.manager_a.headers,
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown-person"
    last = client.delete(f"{url}/{world.manager_a.id}", headers=world.manager_a.headers)
    assert last.status_code == 409 and last.json()["code"] == "last-manager"
    demote = client.put(
        url, json={"email": world.manager_a.email, "role": "staff"}, headers=world.manager_a.headers
    )
    assert demote.status_code == 409
    bad_role = client.put(
        url, json={"email": world.staff_a.email, "role": "owner"}, headers=world.manager_a.headers
    )
    assert bad_role.status_code == 422


def test_a_structure_gives_its_phone_for_booking_by_phone(client, world):
    url = "/api/structures/ehpad-les-tilleuls"
    assert client.get(url).json()["phone"] == ""
    changed = client.patch(url, json={"phone": "01 48 00 00 01"}, headers=world.manager_a.headers)
    assert changed.status_code == 200, changed.text
    assert client.get(url).json()["phone"] == "01 48 00 00 01"
    refused = client.patch(url, json={"phone": "appelez-moi"}, headers=world.manager_a.headers)
    assert refused.status_code == 422
    assert client.get(url).json()["phone"] == "01 48 00 00 01"
