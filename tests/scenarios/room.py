"""The meeting-room scenario: the EHPAD's « Salle polyvalente », booked by free intervals."""

from __future__ import annotations

from typing import Any


def open_room(client: Any, world: Any, rule: dict[str, Any]) -> dict[str, Any]:
    """The staff creates the exclusive room (20 people, public) and opens it by ``rule``."""
    room = client.post(
        "/api/structures/ehpad-les-tilleuls/assets",
        json={
            "name": "Salle polyvalente",
            "kind": "room",
            "booking_mode": "exclusive",
            "capacity": 20,
            "audience": ["public"],
        },
        headers=world.staff_a.headers,
    )
    assert room.status_code == 201, room.text
    response = client.post(
        f"/api/assets/{room.json()['id']}/availability", json=rule, headers=world.staff_a.headers
    )
    assert response.status_code == 201, response.text
    return room.json()
