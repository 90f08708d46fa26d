"""Security review 2026-11, abuse and authentication: D4 (registration), D5, D6, D7, D9, D12.

Each test replays the review's reproduction. ``from_peer`` runs the real app as reached from
a given socket peer address (what a server puts in the ASGI scope), so that several
"machines" can be told apart through the TestClient; the proxy tests also run the production
command ``tierslieu serve`` as a real process on 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from tests.conftest import PASSWORD, login, register, unique_email
from tests.scenarios.garden import GARDEN_RULE, book
from tests.server_process import start_server
from tests.web.helpers import csrf_of, post_form, sign_in
from tierslieu.app import create_app
from tierslieu.settings import Settings

WRONG = "pas-le-bon-mot-de-passe"


class FromPeer:
    """The app as reached from the socket peer named in the test-only ``x-test-peer`` header."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"x-test-peer":
                    scope = {**scope, "client": (value.decode(), 50000)}
        await self.app(scope, receive, send)


Factory = Callable[..., TestClient[Any]]


@pytest.fixture
def from_peer(settings: Settings) -> Iterator[Factory]:
    """``from_peer(**settings_overrides)`` → a TestClient; pass ``x-test-peer`` per request."""
    with ExitStack() as stack:

        def make(**overrides: Any) -> TestClient[Any]:
            app = FromPeer(create_app(dataclasses.replace(settings, **overrides)))
            return stack.enter_context(TestClient(app=app, raise_server_exceptions=False))

        yield make


def peer(address: str, **headers: str) -> dict[str, str]:
    return {"x-test-peer": address, **headers}


def register_body(email: str, **extra: Any) -> dict[str, Any]:
    return {
        "email": email,
        "password": PASSWORD,
        "display_name": "Mallory",
        "kind": "neighbour",
        **extra,
    }


def try_login(c: TestClient[Any], email: str, password: str, **headers: str) -> httpx.Response:
    return c.post("/api/auth/login", json={"email": email, "password": password}, headers=headers)


# --- D4: registration throttled per client -------------------------------------------------


def test_d4_registrations_are_throttled_per_client_and_counted_in_the_database(from_peer, settings):
    defaults = Settings()
    assert (defaults.register_max_per_client, defaults.register_window_minutes) == (10, 60)
    c = from_peer(register_max_per_client=10)
    for i in range(10):
        response = c.post(
            "/api/auth/register", json=register_body(f"m{i}@evil.test"), headers=peer("10.9.0.1")
        )
        assert response.status_code == 202, response.text
    refused = c.post(
        "/api/auth/register", json=register_body("m10@evil.test"), headers=peer("10.9.0.1")
    )
    assert refused.status_code == 429
    assert refused.json()["code"] == "too-many-registrations"
    assert 0 < int(refused.headers["retry-after"]) <= 3600
    assert "inscriptions" in refused.json()["detail"]
    # Nothing was created for the refused one; earlier ones sign in at once.
    assert try_login(c, "m10@evil.test", PASSWORD, **peer("10.9.0.9")).status_code == 401
    assert try_login(c, "m9@evil.test", PASSWORD, **peer("10.9.0.9")).status_code == 200
    # Another worker (another app on the same database) sees the same count.
    other_worker = from_peer(register_max_per_client=10)
    again = other_worker.post(
        "/api/auth/register", json=register_body("m11@evil.test"), headers=peer("10.9.0.1")
    )
    assert again.status_code == 429
    # Another client is not affected.
    elsewhere = c.post(
        "/api/auth/register", json=register_body("ok@exemple.test"), headers=peer("10.9.0.2")
    )
    assert elsewhere.status_code == 202


def test_d4_invalid_registrations_cost_no_hash_and_are_not_counted(from_peer):
    c = from_peer(register_max_per_client=2)
    for _ in range(5):
        bad = c.post(
            "/api/auth/register",
            json=register_body(unique_email(), password="court"),
            headers=peer("10.9.1.1"),
        )
        assert bad.status_code == 422
    ok = c.post("/api/auth/register", json=register_body(unique_email()), headers=peer("10.9.1.1"))
    assert ok.status_code == 202


# --- D5: X-Forwarded-For only from trusted proxies; values of any length -----------------------


def fail_logins(c: TestClient[Any], n: int, **headers: str) -> list[int]:
    return [try_login(c, f"nobody{i}@evil.test", "x" * 12, **headers).status_code for i in range(n)]


def test_d5_forwarded_for_from_an_untrusted_peer_is_ignored(from_peer):
    c = from_peer(trusted_proxies=())
    codes = fail_logins(c, 20, **peer("127.0.0.1", **{"X-Forwarded-For": "10.0.0.2"}))
    assert codes == [401] * 20
    # A new X-Forwarded-For does not open a new counter: the client is the socket peer.
    spoofed = try_login(
        c, "nobody99@evil.test", "x", **peer("127.0.0.1", **{"X-Forwarded-For": "10.0.0.3"})
    )
    assert spoofed.status_code == 429


def test_d5_a_trusted_proxy_names_the_client_and_prepended_values_do_not_count(from_peer):
    c = from_peer(trusted_proxies=("127.0.0.1/32",))
    behind = peer("127.0.0.1", **{"X-Forwarded-For": "10.0.0.2"})
    assert fail_logins(c, 20, **behind) == [401] * 20
    assert try_login(c, "a@evil.test", "x", **behind).status_code == 429
    # The client writes its own X-Forwarded-For, the proxy appends the real address.
    forged = peer("127.0.0.1", **{"X-Forwarded-For": "10.0.0.77, 10.0.0.2"})
    assert try_login(c, "a@evil.test", "x", **forged).status_code == 429
    other = peer("127.0.0.1", **{"X-Forwarded-For": "10.0.0.3"})
    assert try_login(c, "a@evil.test", "x", **other).status_code == 401


def test_d5_values_longer_than_64_characters_are_counted(from_peer):
    c = from_peer(trusted_proxies=("127.0.0.1",))
    long_value = peer("127.0.0.1", **{"X-Forwarded-For": "A" * 100})
    codes = fail_logins(c, 21, **long_value)
    assert codes == [401] * 20 + [429]


@pytest.mark.parametrize(
    ("trusted", "expected"),
    [("", 429), ("127.0.0.1", 401)],
    ids=["no-trusted-proxy", "loopback-trusted"],
)
def test_d5_tierslieu_serve_trusts_forwarded_for_only_from_the_setting(settings, trusted, expected):
    """The real server on 127.0.0.1: uvicorn's default would trust X-Forwarded-For from there."""
    server = start_server(
        settings,
        via_cli=True,
        env={
            "TIERSLIEU_TRUSTED_PROXIES": trusted,
            "TIERSLIEU_LOGIN_MAX_FAILURES_PER_CLIENT": "3",
        },
    )
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as c:
            for i in range(3):
                response = c.post(
                    "/api/auth/login",
                    json={"email": f"nobody{i}@evil.test", "password": "x"},
                    headers={"X-Forwarded-For": "10.0.0.2"},
                )
                assert response.status_code == 401
            spoofed = c.post(
                "/api/auth/login",
                json={"email": "nobody9@evil.test", "password": "x"},
                headers={"X-Forwarded-For": "10.0.0.3"},
            )
            assert spoofed.status_code == expected
    finally:
        server.stop()


def test_d5_a_bad_trusted_proxies_setting_is_refused():
    from tierslieu.settings import SettingsError

    ok = Settings.from_env({"TIERSLIEU_TRUSTED_PROXIES": " 10.0.0.1, 192.168.0.0/16 ,::1"})
    assert ok.trusted_proxies == ("10.0.0.1/32", "192.168.0.0/16", "::1/128")
    assert Settings.from_env({}).trusted_proxies == ()
    with pytest.raises(SettingsError):
        Settings.from_env({"TIERSLIEU_TRUSTED_PROXIES": "proxy.local"})


# --- D6: guesses are throttled, not the owner ----------------------------------------------


def test_d6_someone_elses_failures_do_not_lock_the_owner_out(from_peer):
    c = from_peer()
    email = "rl@evil.test"
    assert c.post("/api/auth/register", json=register_body(email), headers=peer("10.0.1.1"))
    attacker = peer("10.0.0.1")
    codes = [try_login(c, email, WRONG, **attacker).status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    # The guessing client stays refused, even with the right password (no oracle)...
    assert try_login(c, email, PASSWORD, **attacker).status_code == 429
    # ...but the owner, from elsewhere, signs in (also with another case and spaces).
    assert try_login(c, email, PASSWORD, **peer("10.0.0.9")).status_code == 200
    assert try_login(c, " RL@EVIL.TEST ", PASSWORD, **peer("10.0.0.8")).status_code == 200
    # The owner's success does not forgive the attacker's failures.
    assert try_login(c, email, PASSWORD, **attacker).status_code == 429


def test_d6_many_failures_from_many_clients_only_slow_the_account_down(from_peer):
    c = from_peer(login_slowdown_after_failures=10, login_slowdown_ms=800)
    email = "cible@exemple.test"
    c.post("/api/auth/register", json=register_body(email), headers=peer("10.0.2.1"))
    started = time.monotonic()
    assert try_login(c, email, PASSWORD, **peer("10.0.2.1")).status_code == 200
    assert time.monotonic() - started < 0.8
    for attacker in ("10.0.3.1", "10.0.3.2"):
        for _ in range(5):
            assert try_login(c, email, WRONG, **peer(attacker)).status_code == 401

    answers: dict[str, float] = {}

    def owner_signs_in() -> None:
        t0 = time.monotonic()
        answers["status"] = try_login(c, email, PASSWORD, **peer("10.0.2.1")).status_code
        answers["owner"] = time.monotonic() - t0

    thread = threading.Thread(target=owner_signs_in)
    thread.start()
    time.sleep(0.2)
    t0 = time.monotonic()
    assert c.get("/livez").status_code == 200
    livez = time.monotonic() - t0
    thread.join()
    assert answers["status"] == 200  # not refused
    assert answers["owner"] >= 0.8  # slowed down
    assert livez < 0.5  # by a pause that does not block anyone else


def test_d6_a_shared_address_with_20_failures_is_refused_for_the_window(from_peer):
    """Decision: 20 failures from one address (over any accounts) refuse that address for
    the window, even for a correct password; other addresses are not affected."""
    c = from_peer()
    email = "karim@exemple.test"
    c.post("/api/auth/register", json=register_body(email), headers=peer("10.0.4.1"))
    nat = peer("10.0.0.2")
    assert fail_logins(c, 20, **nat) == [401] * 20
    refused = try_login(c, email, PASSWORD, **nat)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 15 * 60
    assert try_login(c, email, PASSWORD, **peer("10.0.0.3")).status_code == 200


# --- D7: registration does not reveal who has an account ----------------------------------


def test_d7_registering_a_known_address_answers_like_a_new_one_and_changes_nothing(client):
    jeanne = register(client, "jeanne.martin@exemple.test", "neighbour", "Jeanne Martin")
    new = client.post("/api/auth/register", json=register_body("nouvelle@exemple.test"))
    known = client.post(
        "/api/auth/register",
        json=register_body(
            " Jeanne.Martin@Exemple.test", password="Longenough-1-xyz", display_name="x"
        ),
    )
    assert new.status_code == known.status_code == 202
    assert new.content == known.content
    assert new.headers["content-type"] == known.headers["content-type"]
    # Nothing changed for Jeanne: same password, same name; the attempt cannot sign in.
    assert (
        client.post(
            "/api/auth/login",
            json={"email": "jeanne.martin@exemple.test", "password": "Longenough-1-xyz"},
        ).status_code
        == 401
    )
    token = login(client, "jeanne.martin@exemple.test")
    me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["display_name"] == "Jeanne Martin" and me["id"] == jeanne.id
    english = client.post(
        "/api/auth/register",
        json=register_body("jeanne.martin@exemple.test"),
        headers={"Accept-Language": "en"},
    )
    assert english.status_code == 202 and "sign in" in english.json()["detail"]


def test_d7_the_web_form_answers_alike_too(client, world):
    def web_register(email: str) -> Any:
        return post_form(
            client,
            "/inscription",
            "/inscription",
            {
                "display_name": "Quelqu'un",
                "email": email,
                "password": "Longenough-1-xyz",
                "kind": "neighbour",
                "next": "",
            },
        )

    known = web_register("jeanne.martin@exemple.test")
    known_page = client.get("/connexion").text
    new = web_register("nouveau@exemple.test")
    new_page = client.get("/connexion").text
    assert known.status_code == new.status_code == 303
    assert known.headers["location"] == new.headers["location"] == "/connexion"
    assert "Un compte existe déjà" not in known_page
    flash = "inscription enregistrée. Si cette adresse"
    assert flash in known_page and flash in new_page


# --- D9: password policy and password change ----------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("aaaaaaaaaa", "trop courant"),
        ("          ", "au moins 10"),
        ("1234567890", "trop courant"),
        ("Azertyuiop", "trop courant"),
        ("MOTDEPASSE", "trop courant"),
        ("password123", "trop courant"),
        ("ababababab", "trop courant"),
        ("court", "au moins 10"),
    ],
)
def test_d9_weak_passwords_are_refused_by_the_api(client, password, message):
    email = unique_email()
    response = client.post("/api/auth/register", json=register_body(email, password=password))
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "password" and message in error["message"]
    assert try_login(client, email, password).status_code == 401


def test_d9_weak_passwords_are_refused_by_the_web_form(client, world):
    for password in ("aaaaaaaaaa", "          "):
        response = post_form(
            client,
            "/inscription",
            "/inscription",
            {
                "display_name": "Paulette",
                "email": "paulette@exemple.test",
                "password": password,
                "kind": "neighbour",
                "next": "",
            },
        )
        assert response.status_code == 422
        assert 'aria-describedby="f-password-error' in response.text
    assert try_login(client, "paulette@exemple.test", "aaaaaaaaaa").status_code == 401


def test_d9_create_admin_follows_the_policy(settings):
    from tests.conftest import run_db
    from tierslieu.errors import InvalidInput
    from tierslieu.services.accounts import create_admin

    with pytest.raises(InvalidInput):
        run_db(
            settings,
            lambda s: create_admin(s, settings, email="a@tierslieu.test", password="1234567890"),
        )


def test_d9_change_my_password_through_the_api(client):
    person = register(client, unique_email())
    other_device = login(client, person.email)
    new = "une-phrase-de-passe-neuve"
    url = "/api/me/password"
    assert (
        client.post(url, json={"current_password": PASSWORD, "new_password": new}).status_code
        == 401
    )
    wrong = client.post(
        url, json={"current_password": WRONG, "new_password": new}, headers=person.headers
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "current_password"
    weak = client.post(
        url,
        json={"current_password": PASSWORD, "new_password": "aaaaaaaaaa"},
        headers=person.headers,
    )
    assert weak.status_code == 422 and weak.json()["errors"][0]["field"] == "new_password"
    done = client.post(
        url, json={"current_password": PASSWORD, "new_password": new}, headers=person.headers
    )
    assert done.status_code == 204, done.text
    # This token goes on; the other device is signed out; only the new password works.
    assert client.get("/api/me", headers=person.headers).status_code == 200
    assert (
        client.get("/api/me", headers={"Authorization": f"Bearer {other_device}"}).status_code
        == 401
    )
    assert try_login(client, person.email, PASSWORD).status_code == 401
    assert try_login(client, person.email, new).status_code == 200


def test_d9_wrong_current_passwords_are_throttled_like_sign_ins(client):
    person = register(client, unique_email())
    codes = [
        client.post(
            "/api/me/password",
            json={"current_password": WRONG, "new_password": "une-phrase-de-passe-neuve"},
            headers=person.headers,
        ).status_code
        for _ in range(6)
    ]
    assert codes == [422] * 5 + [429]


def test_d9_change_my_password_in_the_pages(client, settings, world):
    other = TestClient(app=create_app(settings), raise_server_exceptions=False)
    with other:
        sign_in(other, world.neighbour.email)
        sign_in(client, world.neighbour.email)
        page = client.get("/mon-compte")
        assert page.status_code == 200 and "Changer le mot de passe" in page.text
        assert 'href="/mon-compte"' in client.get("/").text
        no_csrf = client.post(
            "/mon-compte/mot-de-passe",
            data={"current_password": PASSWORD, "new_password": "une-phrase-de-passe-neuve"},
            follow_redirects=False,
        )
        assert no_csrf.status_code == 403
        wrong = post_form(
            client,
            "/mon-compte",
            "/mon-compte/mot-de-passe",
            {"current_password": WRONG, "new_password": "une-phrase-de-passe-neuve"},
        )
        assert wrong.status_code == 422 and "actuel est incorrect" in wrong.text
        done = post_form(
            client,
            "/mon-compte",
            "/mon-compte/mot-de-passe",
            {"current_password": PASSWORD, "new_password": "une-phrase-de-passe-neuve"},
        )
        assert done.status_code == 303 and done.headers["location"] == "/mon-compte"
        assert "Mot de passe changé" in client.get("/mon-compte").text
        # Still signed in here; signed out on the other browser.
        assert client.get("/mes-reservations", follow_redirects=False).status_code == 200
        assert other.get("/mes-reservations", follow_redirects=False).status_code == 303
    assert client.get("/connexion").status_code == 200 and csrf_of(client.get("/connexion").text)


# --- D12: names others will read ------------------------------------------------------------


BAD_NAMES = [
    "   ",
    "\u200b",
    "Ali \u202egnp.exe",
    "\u2066Sophie\u2069",
    "So\u200dphie",
    "\ufeffSophie",
    "Sophie\u2060Bernard",
    "Sophie\tBernard",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_d12_blank_and_spoofing_display_names_are_refused_by_the_api(client, name):
    email = unique_email()
    response = client.post("/api/auth/register", json=register_body(email, display_name=name))
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "display_name"
    assert "vide" in error["message"] or "invisibles" in error["message"]
    assert try_login(client, email, PASSWORD).status_code == 401


def test_d12_names_are_trimmed_and_real_names_accepted(client):
    person = register(client, unique_email(), name="  Zoé   N'Diaye-Ŋ  ")
    me = client.get("/api/me", headers=person.headers).json()
    assert me["display_name"] == "Zoé N'Diaye-Ŋ"


def test_d12_the_web_form_refuses_the_same_names(client, world):
    for name in ("   ", "Ali \u202egnp.exe", "Nul\x00Name"):
        response = post_form(
            client,
            "/inscription",
            "/inscription",
            {
                "display_name": name,
                "email": "paulette@exemple.test",
                "password": PASSWORD,
                "kind": "neighbour",
                "next": "",
            },
        )
        assert response.status_code == 422, name
        assert 'aria-describedby="f-display_name-error' in response.text
    assert try_login(client, "paulette@exemple.test", PASSWORD).status_code == 401


def test_d12_guest_names_of_bookings_are_checked_too(client, world):
    # Staff book guests beyond the public booking window: April 2027 is fine today.
    rule = client.post(
        f"/api/assets/{world.garden['id']}/availability",
        json=GARDEN_RULE,
        headers=world.staff_a.headers,
    )
    assert rule.status_code == 201, rule.text
    for name in ("\u202eevil", "  "):
        response = book(client, world.staff_a, world.garden["id"], guest={"name": name})
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "guest.name"
    ok = book(client, world.staff_a, world.garden["id"], guest={"name": " Mme  Martin "})
    assert ok.status_code == 201, ok.text
    assert ok.json()["person"]["name"] == "Mme Martin"


def test_d12_guest_names_of_meal_orders_are_checked_too(client, relais):
    body = relais.order_body(("Curry", 1), guest_name="Ami\u200b")
    response = client.post("/api/meal-orders", json=body, headers=relais.chef.headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "guest_name"


def test_d4_concurrent_registrations_from_one_client_stop_exactly_at_the_limit(settings):
    """12 registrations at once from one address against a real server: exactly 10 pass."""
    import asyncio

    server = start_server(dataclasses.replace(settings, register_max_per_client=10), workers=2)

    async def storm() -> list[int]:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as c:
            responses = await asyncio.gather(
                *(
                    c.post("/api/auth/register", json=register_body(f"storm{i}@evil.test"))
                    for i in range(12)
                )
            )
        return sorted(r.status_code for r in responses)

    try:
        assert asyncio.run(storm()) == [202] * 10 + [429] * 2
    finally:
        server.stop()
