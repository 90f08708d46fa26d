"""Voucher codes exist only as hashes once shown (review D13): not in the idempotency
store, not in the one-time message cookie, nowhere in the database."""

from __future__ import annotations

import base64
import json
import re

from sqlalchemy import select

from tests.conftest import run_db
from tests.scenarios.relais import RELAIS
from tests.web.helpers import csrf_of, sign_in
from tierslieu.models import metadata

POOL = f"/api/structures/{RELAIS}/suspended-meals"


def fill_pool(client, relais, meals=2):
    world = relais.world
    order = client.post(
        "/api/meal-orders",
        json=relais.order_body(("Curry", 1), suspended_meals=meals),
        headers=world.professional.headers,
    ).json()
    paid = client.post(
        f"/api/meal-orders/{order['id']}/status", json={"paid": True}, headers=relais.chef.headers
    )
    assert paid.status_code == 200, paid.text
    assert client.get(POOL).json()["balance"] == meals


def database_text(settings) -> str:
    """Every row of every table, as text (bytes decoded), to look for a secret."""

    async def dump(session):
        parts = []
        for table in metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        value = bytes(value).decode("utf-8", "replace")
                    parts.append(str(value))
        return "\n".join(parts)

    return run_db(settings, dump)


def test_a_retried_voucher_never_shows_its_code_again(client, relais, settings):
    fill_pool(client, relais)
    nadia = relais.world.staff_b
    headers = {**nadia.headers, "Idempotency-Key": "vch-1"}
    first = client.post(f"{POOL}/vouchers", json={"label": "M. D."}, headers=headers)
    assert first.status_code == 201, first.text
    code = first.json()["code"]
    assert code.startswith("RS-")
    stored = database_text(settings)
    assert code not in stored and code.replace("-", "") not in stored
    assert "vch-1" in stored  # the key row is there, without the code

    retry = client.post(f"{POOL}/vouchers", json={"label": "M. D."}, headers=headers)
    assert retry.status_code == 409
    problem = retry.json()
    assert problem["code"] == "voucher-code-shown-once"
    assert problem["voucher_id"] == first.json()["id"]
    assert problem["code_hint"] == code[-4:] and code[-4:] in problem["detail"]
    assert code not in retry.text
    assert client.get(POOL).json()["balance"] == 1  # debited once
    # The lost code's voucher can be taken back: its meal returns to the pool.
    cancelled = client.post(
        f"{POOL}/vouchers/{problem['voucher_id']}/cancel", headers=nadia.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    assert client.get(POOL).json()["balance"] == 2
    # The code shown once still works (it is checked against its hash).
    again = client.post(f"{POOL}/vouchers", json={"label": "x"}, headers=nadia.headers).json()
    body = relais.order_body(("Poulet", 1), window="12:30", voucher_code=again["code"])
    order = client.post("/api/meal-orders", json={**body, "guest_name": "M. D."})
    assert order.status_code == 201, order.text


def cookie_payloads(response) -> str:
    """Every Set-Cookie value, raw and base64-decoded (signed cookies are not encrypted)."""
    out = []
    for header in response.headers.get_list("set-cookie"):
        value = header.split(";", 1)[0].split("=", 1)[1]
        out.append(value)
        for part in value.split("."):
            try:
                out.append(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode())
            except ValueError:
                continue
    return "\n".join(out)


def test_the_web_shows_the_code_on_the_answer_page_not_in_a_cookie(client, relais, settings):
    fill_pool(client, relais)
    nadia = relais.world.staff_b
    sign_in(client, nadia.email)
    counter_url = f"/structures/{RELAIS}/cantine/{relais.asset['id']}"
    counter = client.get(counter_url)
    assert counter.status_code == 200
    once = re.search(r'name="once" value="([^"]+)"', counter.text).group(1)
    form = {"label": "Mme Y", "once": once, "_csrf_token": csrf_of(counter.text)}
    given = client.post(f"{counter_url}/bons", data=form, follow_redirects=False)
    assert given.status_code == 201
    listed = client.get(f"{POOL}/vouchers", headers=nadia.headers).json()
    assert len(listed) == 1
    hint = listed[0]["code_hint"]
    shown = re.search(r"RS-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", given.text)
    assert shown, "the code is on the page answering the POST"
    code = shown.group(0)
    assert code.endswith(hint)
    assert code not in cookie_payloads(given)
    assert given.headers["cache-control"] == "no-store"
    assert code not in database_text(settings)
    # Sending the same form again (a reload of the answer) gives no second voucher and
    # no code: the person is told the voucher exists and how to take it back.
    again = client.post(f"{counter_url}/bons", data=form, follow_redirects=False)
    assert again.status_code == 303
    assert code not in cookie_payloads(again)
    after = client.get(counter_url)
    assert "Bon déjà créé" in after.text and hint in after.text
    assert len(client.get(f"{POOL}/vouchers", headers=nadia.headers).json()) == 1
    assert client.get(POOL).json()["balance"] == 1
    assert code not in database_text(settings)
    # The next page shows it no more.
    assert code not in client.get(counter_url).text
    assert json.dumps(code) not in client.get(f"{POOL}/vouchers", headers=nadia.headers).text
