"""Password reset, address confirmation, the password-changed notice, reminders on/off and
the one-click unsubscribe, through the API and the pages (real database)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select

from tests.conftest import IS_POSTGRES, PASSWORD, register, run_db, unique_email
from tests.notifications.helpers import last_link, outbox_rows, token_of
from tests.web.helpers import csrf_of, post_form, sign_in
from tierslieu.models import AccountToken, User
from tierslieu.services import account_links
from tierslieu.services.clock import frozen
from tierslieu.services.mail import render

NEW_PASSWORD = "un-tout-nouveau-secret"
T0 = dt.datetime(2027, 3, 15, 10, 0, tzinfo=dt.UTC)


def reset(client: TestClient[Any], email: str) -> Any:
    return client.post("/api/auth/password-reset", json={"email": email})


def confirm(client: TestClient[Any], token: str, password: str = NEW_PASSWORD) -> Any:
    return client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": password}
    )


def tokens_in_db(settings: Any) -> int:
    async def _count(session: Any) -> int:
        return await session.scalar(select(func.count()).select_from(AccountToken)) or 0

    return run_db(settings, _count)


def test_reset_answers_the_same_202_for_an_unknown_address_and_sends_nothing(client, settings):
    person = register(client, unique_email("jeanne"))
    before = tokens_in_db(settings)
    unknown = reset(client, "personne@exemple.test")
    known = reset(client, person.email.upper())
    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()
    assert "une heure" in known.json()["detail"]
    assert outbox_rows(settings, "password-reset", email="personne@exemple.test") == []
    [row] = outbox_rows(settings, "password-reset", email=person.email)
    assert row.channel == "email" and row.status == "pending"
    assert row.params["link"].startswith(f"{settings.public_url}/mot-de-passe/nouveau/")
    assert tokens_in_db(settings) == before + 1
    # Only the token's hash is stored.
    raw = token_of(row.params["link"])

    async def _hashes(session: Any) -> list[str]:
        return list(await session.scalars(select(AccountToken.token_hash)))

    hashes = run_db(settings, _hashes)
    assert raw not in hashes and len(hashes[-1]) == 64
    # A malformed address is a 422 (it reveals nothing either).
    assert reset(client, "pas-une-adresse").status_code == 422


def test_the_reset_link_works_once_and_signs_every_session_out(client, settings):
    person = register(client, unique_email("jeanne"))
    assert reset(client, person.email).status_code == 202
    token = token_of(last_link(settings, "password-reset", person.email))

    weak = confirm(client, token, "motdepasse")
    assert weak.status_code == 422 and weak.json()["errors"][0]["field"] == "password"
    assert confirm(client, token).status_code == 204
    # Every old session is signed out; the new password works, the old one does not.
    assert client.get("/api/me", headers=person.headers).status_code == 401
    assert (
        client.post(
            "/api/auth/login", json={"email": person.email, "password": NEW_PASSWORD}
        ).status_code
        == 200
    )
    assert (
        client.post(
            "/api/auth/login", json={"email": person.email, "password": PASSWORD}
        ).status_code
        == 401
    )
    again = confirm(client, token, "encore-un-autre-secret")
    assert again.status_code == 400 and again.json()["code"] == "invalid-link"
    [notice] = outbox_rows(settings, "password-changed", email=person.email)
    assert notice.params["name"]
    assert confirm(client, "x" * 43).status_code == 400
    assert confirm(client, "bad token!").status_code == 422


def test_the_reset_link_expires_after_one_hour_and_a_new_one_revokes_the_old(client, settings):
    person = register(client, unique_email("jeanne"))
    with frozen(T0):
        reset(client, person.email)
        first = token_of(last_link(settings, "password-reset", person.email))
    with frozen(T0 + dt.timedelta(minutes=61)):
        late = confirm(client, first)
        assert late.status_code == 400 and late.json()["code"] == "invalid-link"
    with frozen(T0 + dt.timedelta(hours=2)):
        reset(client, person.email)
        second = token_of(last_link(settings, "password-reset", person.email))
        reset(client, person.email)
        third = token_of(last_link(settings, "password-reset", person.email))
    with frozen(T0 + dt.timedelta(hours=2, minutes=59)):
        assert confirm(client, second).status_code == 400  # revoked by the third
        assert confirm(client, third).status_code == 204  # 59 minutes: still valid


def test_reset_requests_are_throttled_per_client(settings):
    from tierslieu.app import create_app

    tight = dataclasses.replace(settings, register_max_per_client=2)
    with TestClient(app=create_app(tight), raise_server_exceptions=False) as c:
        assert reset(c, "a@exemple.test").status_code == 202
        assert reset(c, "b@exemple.test").status_code == 202
        third = reset(c, "c@exemple.test")
        assert third.status_code == 429 and "Retry-After" in third.headers
        assert third.json()["code"] == "too-many-reset-requests"
        # Registrations keep their own count.
        body = {
            "email": unique_email(),
            "password": PASSWORD,
            "display_name": "Nouvelle",
            "kind": "neighbour",
        }
        assert c.post("/api/auth/register", json=body).status_code == 202


@pytest.mark.postgres_only
def test_two_concurrent_uses_of_one_link_one_wins(client, settings):
    """Two real connections spend the same link at once: exactly one password is set."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from tierslieu import db
    from tierslieu.services.account_links import InvalidLink

    assert IS_POSTGRES
    person = register(client, unique_email("jeanne"))
    reset(client, person.email)
    token = token_of(last_link(settings, "password-reset", person.email))

    async def _race() -> list[Any]:
        engine = db.create_engine(settings)
        factory = async_sessionmaker(engine, expire_on_commit=False)

        async def use(password: str) -> str:
            async with factory() as session:
                try:
                    await account_links.reset_password(
                        session, settings, token=token, password=password
                    )
                except InvalidLink:
                    return "refused"
                return password

        try:
            return await asyncio.gather(use("premier-secret-long"), use("second-secret-long"))
        finally:
            await engine.dispose()

    results = run_db(settings, lambda _s: _race())
    assert sorted(r == "refused" for r in results) == [False, True]
    winner = next(r for r in results if r != "refused")
    assert (
        client.post("/api/auth/login", json={"email": person.email, "password": winner}).status_code
        == 200
    )
    assert len(outbox_rows(settings, "password-changed", email=person.email)) == 1


def test_registration_mails_a_confirmation_link_and_the_address_is_confirmed(client, settings):
    person = register(client, unique_email("jeanne"))
    [row] = outbox_rows(settings, "email-confirm", email=person.email)
    token = token_of(row.params["link"])
    me = client.get("/api/me", headers=person.headers).json()
    assert me["email_confirmed_at"] is None and me["reminders"] is True
    assert client.post("/api/auth/email-confirm", json={"token": token}).status_code == 204
    assert client.get("/api/me", headers=person.headers).json()["email_confirmed_at"]
    used = client.post("/api/auth/email-confirm", json={"token": token})
    assert used.status_code == 400 and used.json()["code"] == "invalid-link"
    # Once confirmed, « renvoyer » sends nothing (same 202).
    assert client.post("/api/me/email-confirm", headers=person.headers).status_code == 202
    assert len(outbox_rows(settings, "email-confirm", email=person.email)) == 1


def test_resend_gives_a_new_link_and_revokes_the_old(client, settings):
    person = register(client, unique_email("jeanne"))
    old = token_of(last_link(settings, "email-confirm", person.email))
    assert client.post("/api/me/email-confirm", headers=person.headers).status_code == 202
    new = token_of(last_link(settings, "email-confirm", person.email))
    assert new != old
    assert client.post("/api/auth/email-confirm", json={"token": old}).status_code == 400
    assert client.post("/api/auth/email-confirm", json={"token": new}).status_code == 204


def test_changing_the_password_sends_a_notice(client, settings):
    person = register(client, unique_email("jeanne"))
    response = client.post(
        "/api/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=person.headers,
    )
    assert response.status_code == 204
    [row] = outbox_rows(settings, "password-changed", email=person.email)
    mail = render(row.kind, row.params, row.language, settings)
    assert "a été changé" in mail.text and "/mot-de-passe-oublie" in mail.text
    # A refused change sends nothing.
    client.post(
        "/api/me/password",
        json={"current_password": "faux-mot-de-passe", "new_password": NEW_PASSWORD},
        headers=person.headers,
    )
    assert len(outbox_rows(settings, "password-changed", email=person.email)) == 1


def test_account_mails_in_both_languages_escape_names_and_carry_no_tracking(settings):
    params = {"link": "https://tierslieu.test/mot-de-passe/nouveau/abc", "name": "<b>Jo</b>"}
    fr = render("password-reset", params, "fr", settings)
    en = render("password-reset", params, "en", settings)
    assert fr.subject == "Votre nouveau mot de passe tierslieu"
    assert "une heure" in fr.text and params["link"] in fr.text
    assert "one hour" in en.text and params["link"] in en.text and "mot de passe" not in en.text
    for mail in (fr, en):
        assert mail.html and "&lt;b&gt;Jo&lt;/b&gt;" in mail.html and "<b>Jo" not in mail.html
        assert "<img" not in mail.html and mail.unsubscribe_url is None
    confirm_mail = render("email-confirm", params, "en", settings)
    assert "Confirm" in confirm_mail.subject
    changed = render(
        "password-changed", {"changed_at": T0.isoformat(), "name": "Jo"}, "fr", settings
    )
    assert "15 mars 2027, 11 h 00" in changed.text


def test_reminders_can_be_turned_off_and_on(client, settings):
    person = register(client, unique_email("jeanne"))
    off = client.patch("/api/me", json={"reminders": False}, headers=person.headers)
    assert off.status_code == 200 and off.json()["reminders"] is False
    same = client.patch("/api/me", json={}, headers=person.headers)
    assert same.status_code == 200 and same.json()["reminders"] is False
    for wrong in ("oui", 0, 1, "true"):
        refused = client.patch("/api/me", json={"reminders": wrong}, headers=person.headers)
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "reminders"
    assert (
        client.patch("/api/me", json={"is_admin": True}, headers=person.headers).status_code == 422
    )
    on = client.patch("/api/me", json={"reminders": True}, headers=person.headers)
    assert on.json()["reminders"] is True
    assert client.patch("/api/me", json={"reminders": False}).status_code == 401


def reminders_of(settings: Any, email: str) -> bool:
    async def _read(session: Any) -> bool:
        return bool(await session.scalar(select(User.reminders).where(User.email == email)))

    return run_db(settings, _read)


def test_one_click_unsubscribe_needs_no_csrf_nor_sign_in_and_is_idempotent(client, settings):
    person = register(client, unique_email("jeanne"))
    url = account_links.unsubscribe_url(settings, person.id)
    path = url.removeprefix(settings.public_url)
    client.cookies.clear()  # a mail client: no cookie at all
    # Opening the link changes nothing; it shows a button.
    page = client.get(path)
    assert page.status_code == 200 and "Ne plus recevoir de rappels" in page.text
    assert reminders_of(settings, person.email) is True
    # What a mail client sends (RFC 8058): no cookie, no CSRF token.
    client.cookies.clear()
    for _ in range(2):
        done = client.post(
            path,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert done.status_code == 200, done.text
        assert "vous ne recevrez plus de rappels" in done.text
    assert reminders_of(settings, person.email) is False
    # A token we did not sign: 404 (another person's id, a changed MAC, garbage).
    other = register(client, unique_email("karim"))
    hex_id, mac = account_links.unsubscribe_token(settings, person.id).split(".")
    forged = [
        f"/desabonnement/{other.id.replace('-', '')}.{mac}",
        f"/desabonnement/{hex_id}.{mac[:-2]}AA",
        "/desabonnement/nimporte-quoi",
    ]
    for bad in forged:
        assert client.post(bad, content=b"List-Unsubscribe=One-Click").status_code == 404
        assert client.get(bad).status_code == 404
    assert reminders_of(settings, other.email) is True
    # Other pages still need their CSRF token.
    assert client.post("/mon-compte/rappels", data={"reminders": "1"}).status_code == 403


def test_pages_forgotten_password_and_new_password(client, settings):
    person = register(client, unique_email("jeanne"))
    login_page = client.get("/connexion")
    assert (
        'href="/mot-de-passe-oublie"' in login_page.text
        and "Mot de passe oublié ?" in login_page.text
    )
    sent = post_form(
        client, "/mot-de-passe-oublie", "/mot-de-passe-oublie", {"email": person.email}
    )
    assert sent.status_code == 303 and sent.headers["location"] == "/connexion"
    unknown = post_form(
        client, "/mot-de-passe-oublie", "/mot-de-passe-oublie", {"email": "x@exemple.test"}
    )
    assert unknown.status_code == 303 and unknown.headers["location"] == "/connexion"
    bad = post_form(
        client, "/mot-de-passe-oublie", "/mot-de-passe-oublie", {"email": "pas-une-adresse"}
    )
    assert bad.status_code == 422 and "nom@domaine.fr" in bad.text

    link = last_link(settings, "password-reset", person.email)
    path = link.removeprefix(settings.public_url)
    form = client.get(path)
    assert form.status_code == 200 and 'name="password"' in form.text
    assert form.headers["referrer-policy"] == "no-referrer"  # the URL holds the token
    weak = client.post(
        path, data={"password": "court", "_csrf_token": csrf_of(form.text)}, follow_redirects=False
    )
    assert weak.status_code == 422 and "10" in weak.text
    no_csrf = client.post(path, data={"password": NEW_PASSWORD}, follow_redirects=False)
    assert no_csrf.status_code == 403
    done = client.post(
        path,
        data={"password": NEW_PASSWORD, "_csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/connexion"
    assert client.get(path).status_code == 400  # spent: the page says so
    sign_in(client, person.email, NEW_PASSWORD)


def test_pages_confirm_address_reminders_checkbox_and_resend(client, settings):
    person = register(client, unique_email("jeanne"))
    sign_in(client, person.email)
    account = client.get("/mon-compte")
    assert (
        "pas encore confirmée" in account.text
        and "Renvoyer le lien de confirmation" in account.text
    )
    assert "Recevoir un rappel la veille" in account.text and "checked" in account.text

    off = post_form(client, "/mon-compte", "/mon-compte/rappels", {"reminders": "0"})
    assert off.status_code == 303
    assert reminders_of(settings, person.email) is False
    assert 'name="reminders" type="checkbox" value="1">' in client.get("/mon-compte").text
    on = client.post(
        "/mon-compte/rappels",
        data={"reminders": ["0", "1"], "_csrf_token": csrf_of(client.get("/mon-compte").text)},
        follow_redirects=False,
    )
    assert on.status_code == 303 and reminders_of(settings, person.email) is True

    resent = post_form(client, "/mon-compte", "/mon-compte/confirmation", {})
    assert resent.status_code == 303
    assert len(outbox_rows(settings, "email-confirm", email=person.email)) == 2
    path = last_link(settings, "email-confirm", person.email).removeprefix(settings.public_url)
    page = client.get(path)
    assert page.status_code == 200 and "Confirmer mon adresse" in page.text
    assert client.get("/api/me", headers=person.headers).json()["email_confirmed_at"] is None
    done = client.post(path, data={"_csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/mon-compte"
    assert "— confirmée" in client.get("/mon-compte").text
    assert client.get(path).status_code == 400
