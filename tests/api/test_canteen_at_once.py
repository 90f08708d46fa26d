"""An accepted meal order is placed without the general way's ORM session (issue 16).

``services/canteen_early.py``: the order row, the portions, the pickup place, the lines
and the « confirmed » message together, or nothing: on PostgreSQL in one statement in
autocommit, on SQLite one after the other in the write transaction. It must give the
answer and the rows the general way gives, and a race it loses between its read and its
write (a dish sold out, the window filled by others) must leave nothing behind: the
general way then decides, and refuses.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, update

from tests.conftest import register, run_db
from tierslieu.models import MealOrder, MealOrderLine, MenuItem, OutboxMessage, PickupWindow
from tierslieu.services import canteen_early, canteen_orders

# What differs between two orders of the same lunch by two people.
_OWN = {"id", "reference", "created_at"}
_OWN_PARAMS = {"order_id", "reference", "uid", "path", "updated_at", "name", "email"}


@pytest.fixture
def saturday(client, relais):
    """Saturday: lasagne (main) and a tart (dessert), two pickup places."""
    return relais.add_service(
        client,
        "2026-12-05",
        [
            {"name": "Lasagnes", "kind": "main", "portions": 10, "prices": {"habitant": 600}},
            {"name": "Tarte", "kind": "dessert", "portions": 10, "prices": {"habitant": 250}},
        ],
        capacity=2,
    )


def _body(service, *lines):
    items = {i["name"]: i["id"] for i in service["items"]}
    return {
        "service_id": service["id"],
        "lines": [{"item_id": items[name], "quantity": n} for name, n in lines],
        "pickup_window_id": service["pickup_windows"][0]["id"],
        "note": "sans fromage",
    }


def _confirmations(settings) -> dict[str, dict]:
    """The « confirmed » messages of meal orders, by order id."""

    async def work(session):
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "order-confirmed")
        )
        return {m.params["order_id"]: m for m in rows}

    return run_db(settings, work)


def _placed_by_the_general_way(*_args, **_kwargs):
    raise AssertionError("the order went the general way")


def test_an_order_placed_at_once_is_the_order_the_general_way_places(
    client, relais, saturday, settings, monkeypatch
):
    ali = register(client, "ali@exemple.test", "neighbour", "Ali Voisin")
    bea = register(client, "bea@exemple.test", "neighbour", "Béa Voisine")
    body = _body(saturday, ("Tarte", 2), ("Lasagnes", 1))
    general = client.post(
        "/api/meal-orders",
        json=body,
        headers={**ali.headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert general.status_code == 201, general.text
    with monkeypatch.context() as patched:
        patched.setattr(canteen_orders, "place_order", _placed_by_the_general_way)
        at_once = client.post("/api/meal-orders", json=body, headers=bea.headers)
    assert at_once.status_code == 201, at_once.text

    def same(answer):
        return {k: v for k, v in answer.items() if k not in _OWN}

    assert same(at_once.json()) == same(general.json())
    assert at_once.json()["total_cents"] == 600 + 2 * 250
    assert [line["name"] for line in at_once.json()["lines"]] == ["Tarte", "Lasagnes"]
    # Read back, the order is what the answer said (its lines in the menu's order).
    mine = client.get(f"/api/meal-orders/{at_once.json()['id']}", headers=bea.headers).json()
    assert {**mine, "lines": None} == {**at_once.json(), "lines": None}
    assert sorted(mine["lines"], key=str) == sorted(at_once.json()["lines"], key=str)
    # Portions and places taken by both.
    menu = client.get(f"/api/meal-services/{saturday['id']}").json()
    assert {i["name"]: i["remaining"] for i in menu["items"]} == {"Lasagnes": 8, "Tarte": 6}
    assert menu["pickup_windows"][0]["remaining"] == 0
    # The same « confirmed » message, to its own person.
    told = _confirmations(settings)
    mine_told, theirs = told[at_once.json()["id"]], told[general.json()["id"]]
    assert (mine_told.email, mine_told.name) == ("bea@exemple.test", "Béa Voisine")
    assert {k: v for k, v in mine_told.params.items() if k not in _OWN_PARAMS} == {
        k: v for k, v in theirs.params.items() if k not in _OWN_PARAMS
    }
    assert (mine_told.channel, mine_told.language, mine_told.status) == (
        theirs.channel,
        theirs.language,
        theirs.status,
    )
    # Ordering again is refused, as the general way refuses it.
    again = client.post("/api/meal-orders", json=body, headers=bea.headers)
    assert (again.status_code, again.json()["code"]) == (409, "already-ordered")


def _taken_meanwhile(client, monkeypatch, statement):
    """Between the read and the write, another connection runs ``statement``. Returns
    what the write answered and the exceptions the one statement raised (PostgreSQL)."""
    real_check, real_fetch = canteen_early._check, canteen_early.fetch_raw
    real_write = canteen_early._PlaceAtOnce.write
    raised: list[type] = []
    written: list[bool] = []

    async def check(connection, person, cmd, now):
        checked = await real_check(connection, person, cmd, now)
        async with client.app.state.engine.begin() as other:
            await other.execute(statement)
        return checked

    async def fetch(connection, prepared, values):
        try:
            return await real_fetch(connection, prepared, values)
        except Exception as exc:
            raised.append(type(exc))
            raise

    async def write(connection, placing):
        written.append(await real_write(connection, placing))
        return written[-1]

    monkeypatch.setattr(canteen_early, "_check", check)
    monkeypatch.setattr(canteen_early, "fetch_raw", fetch)
    monkeypatch.setattr(canteen_early._PlaceAtOnce, "write", write)
    return written, raised


def _written(settings):
    async def work(session):
        orders = (await session.scalars(select(MealOrder.id))).all()
        lines = (await session.scalars(select(MealOrderLine.id))).all()
        sold = dict((await session.execute(select(MenuItem.name, MenuItem.sold))).tuples().all())
        taken = (await session.scalars(select(PickupWindow.taken))).all()
        return len(orders), len(lines), sold, sorted(taken)

    return run_db(settings, work)


@pytest.mark.parametrize(
    ("meanwhile", "status", "code"),
    [
        # The window filled by others: the dishes were taken, then the place was not.
        (update(PickupWindow).values(taken=PickupWindow.capacity), 409, "pickup-window-full"),
        # The tart sold out: the order row and the lasagne were written, then not the tart.
        (
            update(MenuItem).where(MenuItem.name == "Tarte").values(sold=MenuItem.portions),
            409,
            "sold-out",
        ),
    ],
)
def test_a_race_lost_in_the_statement_leaves_nothing_and_the_general_way_refuses(
    client, relais, saturday, settings, monkeypatch, meanwhile, status, code
):
    ali = register(client, "ali@exemple.test", "neighbour", "Ali Voisin")
    before = _written(settings)
    written, raised = _taken_meanwhile(client, monkeypatch, meanwhile)
    refused = client.post(
        "/api/meal-orders",
        json=_body(saturday, ("Lasagnes", 1), ("Tarte", 1)),
        headers=ali.headers,
    )
    assert (refused.status_code, refused.json()["code"]) == (status, code), refused.text
    # The write ran and wrote nothing; on PostgreSQL the one statement ended itself (its
    # division by zero).
    assert written == [False]
    assert [e.__name__ for e in raised] == ([] if settings.is_sqlite else ["DivisionByZeroError"])
    orders, lines, sold, _taken = _written(settings)
    assert (orders, lines) == before[:2]
    assert sold["Lasagnes"] == before[2]["Lasagnes"]
    assert _confirmations(settings) == {}
    assert len(client.get("/api/meal-orders", headers=ali.headers).json()) == 0
